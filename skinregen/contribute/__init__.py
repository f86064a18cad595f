"""Students' commands: add-study, new-chapter (with Crossref and atomic writes)."""
