"""Migration Autopilot's core: settings, models, lifecycle, state store and (later) the reconciler."""
