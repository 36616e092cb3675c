"""Admin of episode transcripts: upload, edit, accept a draft; scoped to the creator's shows.

An upload (SRT, WebVTT, Podcasting 2.0 JSON, plain text) is validated and
published at once. An automatic transcript shows its progress while pending
and its reason when failed; a draft is edited as WebVTT text (re-validated on
save) and reaches listeners only through "Accept and publish". Every write
goes through the ``Transcript`` model's methods.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from episodes.admin_tenancy import TenantAdmin
from episodes.models import Episode, Transcript
from episodes.transcripts.errors import TranscriptError
from episodes.transcripts.formats import (
    ACCEPTED_EXTENSIONS,
    BY_EXTENSION,
    max_bytes,
    parse_transcript,
    served_formats,
    write,
)
from episodes.transcripts.uploads import read_file
from feeds.site import absolute_url
from feeds.transcripts import file_name

ACCEPT = "_accept"
EDITABLE = (Transcript.Status.DRAFT, Transcript.Status.PUBLISHED)


def editable_text(transcript: Transcript) -> str:
    """The transcript as the creator edits it: WebVTT when timed, else plain text."""
    fmt = BY_EXTENSION["vtt" if transcript.timed else "txt"]
    return write(transcript.cue_list(), fmt).decode()


def text_editable(transcript: Transcript | None) -> bool:
    """Whether the page offers the text box: a draft or published one a form post can carry.

    Django refuses a form body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (400), and
    URL-encoding can triple the bytes; a longer transcript is replaced by file.
    """
    if transcript is None or transcript.pk is None or transcript.status not in EDITABLE:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is None or len(editable_text(transcript).encode()) * 3 + 65536 <= limit


def status_html(transcript: Transcript) -> str:  # safe HTML
    """Status, with the progress of a pending one and the reason of a failed one."""
    label = transcript.get_status_display()
    if transcript.status == Transcript.Status.PENDING:
        return format_html(
            '{} <progress max="100" value="{}"></progress> {}%',
            label,
            transcript.progress_percent,
            transcript.progress_percent,
        )
    if transcript.status == Transcript.Status.FAILED and transcript.error_message:
        return format_html("{}: {}", label, transcript.error_message)
    return format_html("{}", label)


def public_files_html(transcript: Transcript) -> str:  # safe HTML
    if transcript.status != Transcript.Status.PUBLISHED:
        return "Served once published."
    page = absolute_url(transcript.episode.get_absolute_url())
    return format_html_join(
        " · ",
        '<a href="{}" target="_blank" rel="noopener">{}</a>',
        (
            (f"{page}{file_name(transcript.language, fmt)}", fmt.label)
            for fmt in served_formats(transcript.timed)
        ),
    )


def episode_transcripts_html(episode: Episode) -> str:  # safe HTML
    """The episode page's list: each language's origin and status, and where to edit it."""
    if not episode.pk:
        return "Add transcripts once the episode is saved."
    rows = format_html_join(
        "",
        '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>',
        (
            (
                reverse("admin:episodes_transcript_change", args=[t.pk]),
                t.language,
                t.get_origin_display(),
                status_html(t),
            )
            for t in episode.transcripts.order_by("language")
        ),
    )
    add = format_html(
        '<a class="addlink" href="{}?episode={}">Add a transcript</a>',
        reverse("admin:episodes_transcript_add"),
        episode.pk,
    )
    if not rows:
        return format_html("No transcript yet. {}", add)
    return format_html(
        '<table class="episode-transcripts"><thead><tr><th scope="col">Language</th>'
        '<th scope="col">Origin</th><th scope="col">Status</th></tr></thead>'
        "<tbody>{}</tbody></table>{}",
        rows,
        add,
    )


class TranscriptForm(forms.ModelForm):
    file = forms.FileField(
        required=False,
        help_text="SubRip (.srt), WebVTT (.vtt), Podcasting 2.0 JSON (.json) or plain text "
        "(.txt), UTF-8. It is published at once and replaces this language's transcript.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_EXTENSIONS)}),
    )
    text = forms.CharField(
        label="Transcript",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "class": "vLargeTextField", "spellcheck": "true"}),
    )

    class Meta:
        model = Transcript
        fields = ("episode", "language")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.parsed = None
        self.edited = None
        if "language" in self.fields:
            self.fields["language"].required = False
            self.fields[
                "language"
            ].help_text = "A language tag such as “en” or “pt-BR”; empty: the show's language."
        if not text_editable(self.instance):
            # Not on the page, so never "changed" by its absence from a post.
            del self.fields["text"]
        else:
            self.initial["text"] = editable_text(self.instance)
            # Admin help texts are HTML: the voice tag is written escaped.
            self.fields["text"].help_text = (
                "Edit the WebVTT text: one cue per block, a time line "
                "(00:00:01.000 --&gt; 00:00:04.000), then its words; a line starting "
                "&lt;v Name&gt; names the speaker."
                if self.instance.timed
                else "Plain text: one paragraph per block, separated by blank lines."
            )
        if self.instance.pk and "file" in self.fields:
            self.fields["file"].label = "Replace with a file"

    def clean(self) -> dict:
        data = super().clean()
        adding = self.instance.pk is None
        episode = data.get("episode") if adding else self.instance.episode
        upload = data.get("file")
        if adding:
            if episode is not None and not data.get("language"):
                data["language"] = episode.podcast.language
            language = data.get("language")
            if episode and language and episode.transcripts.filter(language=language).exists():
                self.add_error(
                    "language",
                    f"This episode already has a transcript in “{language}”: open it from "
                    "the episode's page to replace its file or edit it.",
                )
            if not upload:
                self.add_error("file", "Choose the transcript file to upload.")
        if upload:
            try:
                self.parsed = read_file(upload, filename=upload.name, size=upload.size)
            except TranscriptError as exc:
                self.add_error("file", f"{upload.name}: {exc}")
        elif not adding and "text" in self.changed_data:
            self.edited = self._parse_text(data.get("text") or "")
        return data

    def _parse_text(self, text: str):
        if len(text.encode()) > max_bytes():
            self.add_error("text", f"The transcript may have at most {max_bytes():,} bytes.")
            return None
        name = "edited.vtt" if self.instance.timed else "edited.txt"
        try:
            return parse_transcript(text.encode(), name)
        except TranscriptError as exc:
            message = str(exc)
            self.add_error("text", message[:1].upper() + message[1:])
            return None

    def validate_unique(self) -> None:
        # clean() says it in words (with what to do); the constraint backs it.
        pass


@admin.register(Transcript)
class TranscriptAdmin(TenantAdmin):
    form = TranscriptForm
    change_form_template = "admin/episodes/transcript/change_form.html"
    list_display = ("episode", "language", "origin", "status_display", "updated_at")
    list_filter = ("status", "origin", "language")
    list_select_related = ("episode__podcast",)
    search_fields = ("episode__title", "episode__slug", "episode__podcast__slug", "language")
    actions = ("accept_drafts",)
    readonly_fields = (
        "show",
        "origin",
        "status_display",
        "public_files",
        "source_filename",
        "created_at",
        "updated_at",
    )

    @admin.display(description="Show")
    def show(self, obj: Transcript) -> str:
        return obj.episode.podcast.title

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj: Transcript) -> str:
        return status_html(obj)

    @admin.display(description="Public files")
    def public_files(self, obj: Transcript) -> str:
        files = public_files_html(obj)
        if obj.status in EDITABLE and not text_editable(obj):
            return format_html(
                "{}<br>Too long to edit here: edit its WebVTT file and upload it below.", files
            )
        return files

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("episode", "language", "file")
        editable = ("text",) if text_editable(obj) else ()
        return (
            "show",
            "episode",
            "language",
            "origin",
            "status_display",
            "public_files",
            *editable,
            "file",
            "source_filename",
            "created_at",
            "updated_at",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # The episode and language are in the files' public URLs.
        return (*self.readonly_fields, "episode", "language")

    def get_changeform_initial_data(self, request) -> dict:
        initial = super().get_changeform_initial_data(request)
        episode_id = request.GET.get("episode", "")
        if episode_id.isdigit() and len(episode_id) <= 18:  # a database integer
            episode = (
                Episode.objects.managed_by(request.user)
                .select_related("podcast")
                .filter(pk=episode_id)
                .first()
            )
            if episode is not None:
                initial["language"] = episode.podcast.language
        return initial

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "episode":
            kwargs["queryset"] = Episode.objects.managed_by(request.user).select_related("podcast")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj: Transcript, form: TranscriptForm, change: bool) -> None:
        if form.parsed is not None:
            stored = Transcript.objects.attach(
                obj.episode,
                language=obj.language,
                cues=form.parsed.cues,
                timed=form.parsed.timed,
                source_filename=form.cleaned_data["file"].name,
            )
            obj.pk = stored.pk
            obj._state.adding = False
            obj.refresh_from_db()
            return
        cues = form.edited.cues if form.edited is not None else None
        if ACCEPT in request.POST and obj.status == Transcript.Status.DRAFT:
            won = obj.accept(cues)
        elif cues is not None:
            won = obj.revise(cues, timed=form.edited.timed)
        else:
            return
        if not won:
            self.message_user(
                request,
                "The transcript changed meanwhile (accepted, replaced or still being "
                "transcribed); nothing was saved. Reload it and try again.",
                messages.WARNING,
            )
        obj.refresh_from_db()

    @admin.action(description="Accept and publish the selected drafts", permissions=["change"])
    def accept_drafts(self, request, queryset) -> None:
        # queryset is scoped to the user's shows by get_queryset.
        drafts = queryset.filter(status=Transcript.Status.DRAFT).select_related("episode")
        accepted = sum(t.accept() for t in drafts)
        self.message_user(
            request,
            ngettext(
                "%(n)d draft accepted and published.",
                "%(n)d drafts accepted and published.",
                accepted,
            )
            % {"n": accepted},
            messages.SUCCESS if accepted else messages.WARNING,
        )
