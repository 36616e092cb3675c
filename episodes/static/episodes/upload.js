/*
 * Direct-to-storage upload and live status for the episode page of the admin.
 *
 * One contract for both storages: ask the server for {url, fields}, POST a
 * multipart form (the fields, then the file last, as S3 requires) straight to
 * `url` with progress, then report completion. The episode's status, progress
 * and error are polled from the status JSON and shown without a reload.
 */
(function () {
  "use strict";

  const POLL_ACTIVE_MS = 2000; // while uploaded/processing
  const POLL_IDLE_MS = 10000;

  function formatBytes(n) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) {
      n /= 1000;
      i += 1;
    }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
  }

  function csrfToken(root) {
    const input = root.closest("form")?.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function postJSON(url, body, token) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new Error("The server could not be reached. Check your connection and try again.");
    }
    let data = {};
    try {
      data = await response.json();
    } catch (err) {
      /* not JSON: keep the status code */
    }
    if (!response.ok) {
      throw new Error(data.error || "The server answered " + response.status + ".");
    }
    return data;
  }

  // A storage error as a sentence: S3 answers XML (<Message>), our local target JSON.
  function storageError(xhr) {
    const text = xhr.responseText || "";
    try {
      const data = JSON.parse(text);
      if (data.error) return data.error;
    } catch (err) {
      /* not JSON */
    }
    const match = text.match(/<Message>([^<]*)<\/Message>/);
    if (match) return "Storage refused the upload: " + match[1];
    return "Storage refused the upload (HTTP " + xhr.status + ").";
  }

  function sendForm(post, file, onProgress) {
    const xhr = new XMLHttpRequest();
    const done = new Promise(function (resolve, reject) {
      const form = new FormData();
      for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
      form.append("file", file); // must be the last field
      xhr.open("POST", post.url);
      xhr.upload.addEventListener("progress", function (event) {
        // event.loaded counts the whole form; clamp to the file's size.
        const total = event.lengthComputable ? event.total : file.size;
        const fraction = total ? event.loaded / total : 0;
        onProgress(Math.min(file.size, Math.round(fraction * file.size)), file.size);
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(new Error(storageError(xhr)));
      });
      xhr.addEventListener("error", function () {
        reject(new Error("The upload was interrupted (network error). Try again."));
      });
      xhr.addEventListener("abort", function () {
        const err = new Error("Upload cancelled.");
        err.cancelled = true;
        reject(err);
      });
      xhr.send(form);
    });
    return { done: done, abort: function () { xhr.abort(); } };
  }

  function setup(root) {
    const $ = (selector) => root.querySelector(selector);
    const fileInput = $("#episode-audio-file");
    const uploadButton = $("[data-action=upload]");
    const cancelButton = $("[data-action=cancel]");
    const progressBox = $(".upload-progress");
    const progressBar = $("#upload-progress");
    const progressText = $("#upload-progress-text");
    const message = $(".upload-message");
    const token = csrfToken(root);
    let current = null; // the running upload
    let pollTimer = null;

    function say(text, kind) {
      message.dataset.kind = kind || "";
      message.textContent = text;
      message.className = "upload-message " + (kind || "");
      message.hidden = !text;
    }

    function showProgress(sent, total) {
      const percent = total ? Math.floor((sent / total) * 100) : 0;
      progressBar.value = percent;
      progressBar.setAttribute("value", String(percent));
      progressText.textContent =
        formatBytes(sent) + " of " + formatBytes(total) + " (" + percent + "%)";
    }

    function busy(isBusy) {
      uploadButton.disabled = isBusy || !fileInput.files.length;
      fileInput.disabled = isBusy;
      cancelButton.hidden = !isBusy;
    }

    // --- live status -------------------------------------------------------
    function setReadonly(field, text) {
      const cell = document.querySelector(".field-" + field + " .readonly");
      if (cell) cell.textContent = text;
    }

    function cell(row, text) {
      const td = document.createElement("td");
      td.textContent = text;
      row.appendChild(td);
      return td;
    }

    function showRenditions(renditions) {
      const body = root.querySelector("[data-live=renditions]");
      body.replaceChildren();
      for (const r of renditions) {
        const row = document.createElement("tr");
        for (const text of [r.preset, r.mime_type, r.size, r.bitrate, r.duration]) cell(row, text);
        const link = document.createElement("a");
        link.href = r.url;
        link.textContent = r.key;
        cell(row, "").appendChild(link);
        body.appendChild(row);
      }
      root.querySelector("[data-live=renditions-box]").hidden = !renditions.length;
    }

    function showStatus(s) {
      const status = root.querySelector("[data-live=status]");
      status.textContent = s.status_display;
      status.className = "episode-status status-" + s.status;
      root.querySelector("[data-live=processing]").hidden = s.status !== "processing";
      const bar = root.querySelector("[data-live=progress]");
      bar.value = s.progress_percent;
      bar.setAttribute("value", String(s.progress_percent));
      root.querySelector("[data-live=percent]").textContent = s.progress_percent + "%";
      root.querySelector("[data-live=source]").textContent = s.source_filename || "";
      const error = root.querySelector("[data-live=error]");
      error.textContent = s.error_message;
      error.hidden = !s.error_message;
      // Keep the admin's own read-only fields in step.
      setReadonly("status", s.status_display);
      setReadonly("progress", s.progress_percent + "%");
      setReadonly("error_message", s.error_message || "-");
      for (const [field, text] of Object.entries(s.source || {})) setReadonly(field, text);
      showRenditions(s.renditions || []);
      // "Uploaded …, processing starts shortly" is about work still to come:
      // once the work has ended, the status (or the error box) says what happened.
      if ((s.status === "ready" || s.status === "failed") && message.dataset.kind === "success") {
        say("");
      }
      root.dataset.status = s.status;
    }

    async function poll() {
      clearTimeout(pollTimer);
      let delay = POLL_IDLE_MS;
      try {
        const response = await fetch(root.dataset.statusUrl, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          cache: "no-store",
        });
        if (response.ok) {
          const s = await response.json();
          showStatus(s);
          if (s.status === "uploaded" || s.status === "processing") delay = POLL_ACTIVE_MS;
        }
      } catch (err) {
        /* offline for a moment: try again later */
      }
      pollTimer = setTimeout(poll, document.hidden ? POLL_IDLE_MS : delay);
    }

    // --- upload ------------------------------------------------------------
    async function upload() {
      const file = fileInput.files[0];
      if (!file) return;
      say("");
      busy(true);
      progressBox.hidden = false;
      showProgress(0, file.size);
      try {
        const post = await postJSON(
          root.dataset.presignUrl,
          { filename: file.name, content_type: file.type, size: file.size },
          token
        );
        if (file.size > post.max_bytes) {
          throw new Error(
            "The file is " + formatBytes(file.size) + "; the limit is " + formatBytes(post.max_bytes) + "."
          );
        }
        current = sendForm(post, file, showProgress);
        await current.done;
        showProgress(file.size, file.size);
        say("Upload complete; checking the file…");
        const s = await postJSON(root.dataset.completeUrl, { key: post.key, filename: file.name }, token);
        if (s.status === "uploaded" || s.status === "processing") {
          say("Uploaded " + file.name + ". Processing starts shortly.", "success");
        } else {
          say("");
        }
        showStatus(s);
        fileInput.value = "";
        poll();
      } catch (err) {
        if (err.cancelled) {
          say("Upload cancelled. Nothing was changed.");
          progressBox.hidden = true;
        } else {
          say("Upload failed: " + err.message, "error");
        }
      } finally {
        current = null;
        busy(false);
      }
    }

    fileInput.addEventListener("change", function () {
      uploadButton.disabled = !fileInput.files.length;
      say("");
    });
    uploadButton.addEventListener("click", upload);
    cancelButton.addEventListener("click", function () {
      if (current) current.abort();
    });
    window.addEventListener("beforeunload", function (event) {
      if (current) event.preventDefault();
    });
    poll();
  }

  function init() {
    const root = document.getElementById("episode-audio");
    if (root) setup(root);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
