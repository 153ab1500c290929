"""Emulator handler modules. Every module here with a `register(registry)` function is loaded by the app.

Adding a capability (images, speech, video, live) means adding a module, not editing a shared file.
"""
