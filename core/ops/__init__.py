"""Operations: safe exports and the scenario / run store (depends on core.common only)."""
