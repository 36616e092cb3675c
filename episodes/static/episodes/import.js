// Live progress of an import: polls the run's status JSON until the report is complete.
(function () {
  "use strict";
  const box = document.getElementById("import-run");
  if (!box) return;
  const url = box.dataset.statusUrl;
  const set = (name, value) => {
    const el = box.querySelector(`[data-live="${name}"]`);
    if (el) el.textContent = value;
  };
  async function poll() {
    let data;
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
    } catch (err) {
      window.setTimeout(poll, 5000);
      return;
    }
    for (const name of ["status_display", "items_found", "media_downloaded", "media_total", "processed"]) {
      set(name, data[name]);
    }
    const error = box.querySelector('[data-live="error_message"]');
    error.textContent = data.error_message;
    error.hidden = !data.error_message;
    if (data.report.length) set("report", data.report.join("\n"));
    // Done once the run finished and every download was processed (or the run failed).
    const settled = data.status === "failed" ||
      (data.status === "done" && data.processed >= data.media_total);
    if (!settled) window.setTimeout(poll, 1000);
  }
  poll();
})();
