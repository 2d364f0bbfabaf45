"""Test helpers that stand in for components not available in the test environment."""
