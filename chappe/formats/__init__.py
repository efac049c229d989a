"""Date and number formats of the languages Chappe ships, where Django's defaults do not
fit its readers (settings `FORMAT_MODULE_PATH`)."""
