"""Migration Autopilot's app package: one room per concern; README "Architecture" maps them and
.importlinter says which may import which."""
