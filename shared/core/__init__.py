"""The lifecycle, pure: transitions and guards, decide, the phase handlers, actions, retry rules."""
