"""The client web app's pages, one module per area; URLs in `chappe.web.urls`."""
