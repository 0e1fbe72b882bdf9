"""MedLab."""
