"""The conversation layer: state, slot filling, context carry-over, rendering replies."""
