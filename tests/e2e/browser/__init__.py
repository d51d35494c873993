"""The web app in a real headless Chromium, driven by Playwright as people use it."""
