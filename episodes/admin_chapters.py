"""Chapters on the episode's admin page: an inline of rows and a JSON chapters file to upload.

Scoped by the episode: the inline only ever shows and saves the chapters of
an episode the user may manage (``EpisodeAdmin`` answers 404 for the others).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from episodes.chapters.editing import ChaptersRejected, audio_duration, read_chapters_file
from episodes.chapters.entries import (
    ChapterEntry,
    format_timestamp,
    parse_timestamp,
    problems_of,
)
from episodes.chapters.json_format import MAX_FILE_BYTES
from episodes.models import Chapter, Episode

#: Rows the inline edits; up to 500 chapters come from a file.
MAX_ROWS = 100


class ChapterForm(forms.ModelForm):
    start = forms.CharField(
        max_length=20,
        help_text="1:02:03, 12:30 or seconds (95.5).",
        widget=forms.TextInput(attrs={"size": 10}),
    )

    class Meta:
        model = Chapter
        fields = ("start", "title", "url", "image_url", "toc")
        # Plain inputs: the admin's URL widget adds a "Currently:" line to every row.
        widgets = {
            "url": forms.URLInput(attrs={"placeholder": "https://…"}),
            "image_url": forms.URLInput(attrs={"placeholder": "https://…"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["start"] = format_timestamp(self.instance.start_seconds)

    def clean_start(self) -> float:
        try:
            seconds = parse_timestamp(self.cleaned_data["start"])
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        self.instance.start_seconds = seconds
        return seconds


class ChapterFormSet(forms.BaseInlineFormSet):
    """The rows together: unique starts, each before the end of the audio; saved as one set."""

    def entries(self) -> list[ChapterEntry]:
        """The chapters the rows describe once saved (deleted and blank rows left out), sorted."""
        entries = []
        for n, form in enumerate(self.forms):
            deleted = self.can_delete and self._should_delete_form(form)
            # An "existing" row whose id is not among this episode's chapters (another
            # episode's, or gone) is dropped, as Django's own formset save does.
            unknown = n < self.initial_form_count() and not form.instance.pk
            blank_extra = not form.instance.pk and not form.has_changed()
            if not (deleted or unknown or blank_extra) and "start" in form.cleaned_data:
                entries.append(form.instance.as_entry())
        return sorted(entries, key=lambda e: e.start_seconds)

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        problems = problems_of(self.entries(), duration_seconds=audio_duration(self.instance))
        if problems:
            raise ValidationError(problems)

    def save(self, commit: bool = True) -> list[Chapter]:
        """Replace the episode's chapters with the rows, in one transaction.

        Row by row, two chapters swapping their times would meet on the unique
        start for a moment; the set is replaced instead (nothing refers to a
        chapter's primary key).
        """
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        if not commit or not self.has_changed():
            return []
        self.new_objects = Chapter.objects.replace_for(self.instance, self.entries())
        return self.new_objects


class ChapterInline(admin.TabularInline):
    model = Chapter
    form = ChapterForm
    formset = ChapterFormSet
    extra = 1
    # Each row posts up to 8 fields and Django takes at most 1,000 per request
    # (DATA_UPLOAD_MAX_NUMBER_FIELDS): a longer list goes in a chapters file.
    max_num = MAX_ROWS
    verbose_name_plural = "chapters (sorted by start when saved)"

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, validate_max=True, **kwargs)

    def get_queryset(self, request) -> QuerySet[Chapter]:
        # Sorted for the creator; scoped through the episode the page belongs to.
        return super().get_queryset(request).order_by("start_seconds", "pk")


class EpisodeChaptersForm(forms.ModelForm):
    """The episode form plus an optional JSON chapters file that replaces every chapter."""

    chapters_file = forms.FileField(
        required=False,
        label="Chapters file",
        help_text="A Podcasting 2.0 JSON chapters file (version 1.2). It replaces every "
        "chapter below. At most 1 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )

    class Meta:
        model = Episode
        # The admin builds the form with its fieldsets' fields; these are the minimum.
        fields = ("podcast", "title", "slug")

    def clean_chapters_file(self):
        upload = self.cleaned_data.get("chapters_file")
        if not upload:
            return None
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(
                f"The file has {upload.size:,} bytes; a chapters file may have at most "
                f"{MAX_FILE_BYTES:,}."
            )
        try:
            return read_chapters_file(self.instance, upload.read())
        except ChaptersRejected as exc:
            raise ValidationError(exc.problems) from None
