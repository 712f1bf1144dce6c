"""Tests of moonlight.core.risk: rules, guards, sizing, manager and persistence."""
