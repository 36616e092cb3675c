"""URLs of the episodes app: the upload endpoints."""

from django.urls import path

from episodes import views

app_name = "episodes"
urlpatterns = [
    path("episodes/<int:episode_id>/upload/presign", views.presign, name="upload_presign"),
    path("episodes/<int:episode_id>/upload/complete", views.complete, name="upload_complete"),
    path("episodes/<int:episode_id>/status", views.status, name="episode_status"),
    path("uploads/local", views.local_upload, name="upload_local"),
]
