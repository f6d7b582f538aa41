/*
 * Batch pages: upload with progress (XMLHttpRequest upload events), then import progress by polling the batch's JSON;
 * the batch page refreshes itself while its import is queued or running. No inline script: everything the script
 * needs comes from data- attributes, so a CSP without 'unsafe-inline' works.
 */
(function () {
  "use strict";

  var POLL_MS = 1000;

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function percent(done, total) {
    return total > 0 ? Math.round((100 * done) / total) : 0;
  }

  function describe(batch) {
    if (batch.status === "done") {
      return "Batch " + batch.id + " imported: " + batch.cases_created + " cases created.";
    }
    if (batch.status === "failed") {
      return "Batch " + batch.id + " failed: " + batch.failure_reason;
    }
    if (batch.status === "running") {
      return "Importing batch " + batch.id + ": " + batch.rows_done + " of " + (batch.rows_total || "?") + " images checked.";
    }
    return "Batch " + batch.id + " is queued for import.";
  }

  /* Swap the composition table and the batch list for fresh ones, keeping the upload form and its messages. */
  function refreshSections() {
    return fetch(window.location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["composition", "batches"].forEach(function (id) {
          var now = document.getElementById(id);
          var next = fresh.getElementById(id);
          if (now && next) { now.replaceWith(next); }
        });
      });
  }

  function pollBatch(url, onUpdate) {
    return new Promise(function (resolve, reject) {
      function tick() {
        getJson(url).then(function (batch) {
          onUpdate(batch);
          if (batch.finished) { resolve(batch); } else { window.setTimeout(tick, POLL_MS); }
        }).catch(reject);
      }
      tick();
    });
  }

  function setUpUploadForm(form) {
    var input = form.querySelector("input[type=file]");
    var dropzone = document.getElementById("dropzone");
    var chosen = document.getElementById("chosen-file");
    var button = document.getElementById("upload-button");
    var uploadBar = document.getElementById("upload-progress");
    var importBar = document.getElementById("import-progress");
    var status = document.getElementById("upload-status");
    var file = null;

    function choose(newFile) {
      file = newFile;
      chosen.textContent = file ? file.name + " (" + Math.ceil(file.size / 1024) + " KiB)" : "";
    }

    input.addEventListener("change", function () { choose(input.files[0] || null); });
    ["dragenter", "dragover"].forEach(function (type) {
      dropzone.addEventListener(type, function (event) {
        event.preventDefault();
        dropzone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      dropzone.addEventListener(type, function () { dropzone.classList.remove("dragging"); });
    });
    dropzone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) { choose(event.dataTransfer.files[0]); }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!file) { status.textContent = "Choose a .zip file first."; return; }
      button.disabled = true;
      uploadBar.value = 0;
      importBar.value = 0;
      status.textContent = "Uploading " + file.name + "...";
      var data = new FormData();
      data.append("archive", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.apiUrl);
      xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { uploadBar.value = percent(e.loaded, e.total); }
      });
      xhr.addEventListener("error", function () {
        status.textContent = "The upload failed (network error). Try again.";
        button.disabled = false;
      });
      xhr.addEventListener("load", function () {
        uploadBar.value = 100;
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = { detail: "Unexpected answer from the server." }; }
        if (xhr.status !== 202) {
          status.textContent = body.detail || "The upload was refused (HTTP " + xhr.status + ").";
          button.disabled = false;
          return;
        }
        status.textContent = describe(body);
        pollBatch(body.api_url, function (batch) {
          importBar.value = batch.finished ? 100 : percent(batch.rows_done, batch.rows_total);
          status.textContent = describe(batch);
        }).then(function (batch) {
          status.dataset.finished = batch.status;
          button.disabled = false;
          form.reset();
          choose(null);
          return refreshSections();
        }).catch(function () {
          status.textContent = "Lost track of the import; reload the page to see its state.";
          button.disabled = false;
        });
      });
      xhr.send(data);
    });
  }

  function setUpBatchPage(section) {
    if (section.dataset.inProgress !== "true") { return; }
    var bar = document.getElementById("batch-progress");
    pollBatch(section.dataset.statusUrl, function (batch) {
      document.getElementById("batch-status-text").textContent = batch.status;
      document.getElementById("batch-rows-done").textContent = batch.rows_done;
      document.getElementById("batch-rows-total").textContent = batch.rows_total;
      document.getElementById("batch-cases").textContent = batch.cases_created;
      if (bar) { bar.value = percent(batch.rows_done, batch.rows_total); }
    }).then(function () { window.location.reload(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("batch-upload");
    if (form) { setUpUploadForm(form); }
    var section = document.getElementById("batch-status");
    if (section) { setUpBatchPage(section); }
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (event) {
        if (!window.confirm(f.dataset.confirm)) { event.preventDefault(); }
      });
    });
  });
})();
