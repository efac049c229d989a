"""Time2Chat (M-14): conversational SMS on a dedicated, declared 09 number (decision 0050)."""
