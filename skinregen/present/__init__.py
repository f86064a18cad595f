"""Figures, tables and the one-call views that chapters display."""
