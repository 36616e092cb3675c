"""URLs of the episodes app (upload endpoints live here)."""

app_name = "episodes"
urlpatterns: list = []
