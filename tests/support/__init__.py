"""Test helpers shared by the test suites (never imported by product code)."""
