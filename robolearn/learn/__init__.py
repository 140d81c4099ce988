"""Learning from corrections: the simulated corrector today; memory and LoRA rounds next."""
