"""MoonLight learned strategies."""
