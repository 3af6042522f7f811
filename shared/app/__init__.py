"""The app layer: settings, wiring, the use cases the triggers call, HTTP error mapping."""
