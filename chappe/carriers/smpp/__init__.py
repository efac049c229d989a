"""The SMPP carrier connector (type "smpp"): the platform as an ESME towards carriers'
SMSCs, on the `chappe.smpp` library — its settings (`config`), binds (`engine`),
connector (`connector`), tables (`models`: inbox, long-message parts, bind state) and
bind metrics (`metrics`)."""
