"""One conversation inbox for SMS replies, Time2Chat and RCS (issue 19, decision 0050)."""
