"""Test helpers the kernel offers every app (stub servers for what the kernel talks to)."""
