"""An RCS connector speaking Google's RCS Business Messaging (RBM) REST API (decision 0056)."""
