"""RCS business messaging (M-15): a channel of messaging like SMS and TTS (decision 0049)."""
