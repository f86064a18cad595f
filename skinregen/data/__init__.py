"""Loading the Frictionless data package (evidence), checking it (validate, bib), finding the book (paths)."""
