/*
 * The reading page: one image at a time, Real or Fake by mouse, touch or keyboard, each vote saved at once.
 *
 * Talks to the REST API with the session cookie and the CSRF token from the page's data- attributes (no inline
 * script, so a strict Content-Security-Policy can forbid them). Time on image runs from the image's `load` event to
 * the answer. A vote that fails on the network is retried until the server has it: no click is lost.
 *
 * Study protocol: practice images come first under a banner (with feedback when the study gives it); in a timed
 * study the image is masked `exposure_ms` after it loaded and the answer is given after; when the study asks, a Fake
 * answer is followed by an optional step to tick the cues that gave the image away.
 *
 * Marks (docs/marks.md): where the study asks for them, an answer ("fake", or either) is followed by a step in which
 * the reader clicks or taps up to `max-marks` places on the image (a circle of `mark-radius` image pixels drawn;
 * clicking a mark removes it), or moves a cursor with the arrow keys and places a mark with Enter; S skips. Marks are
 * sent with the answer, in the 224 px image's pixels, each with the answer's confidence (adjustable per mark) when the
 * study asks for confidence. Nothing of this exists on the page of a study that asks for no marks.
 */
(function () {
  "use strict";

  var root = document.getElementById("reader");
  if (!root) { return; }

  var config = {
    nextUrl: root.dataset.nextUrl,
    votesUrl: root.dataset.votesUrl,
    positionUrl: root.dataset.positionUrl,
    finishedUrl: root.dataset.finishedUrl,
    csrf: root.dataset.csrf,
    askConfidence: root.dataset.askConfidence === "1",
    allowChanges: root.dataset.allowChanges === "1",
    showProgress: root.dataset.showProgress === "1",
    askReasons: root.dataset.askReasons === "1",
    marksMode: root.dataset.marksMode || "off",
    maxMarks: Number(root.dataset.maxMarks || 0),
    markRadius: Number(root.dataset.markRadius || 6),
    markImageSize: Number(root.dataset.markImageSize || 224)
  };

  var image = document.getElementById("case-image");
  var stageMessage = document.getElementById("stage-message");
  var statusLine = document.getElementById("status");
  var finding = document.getElementById("finding");
  var confidenceStep = document.getElementById("confidence");
  var backButton = document.getElementById("back");
  var answerButtons = Array.prototype.slice.call(root.querySelectorAll("button.answer"));
  var levelButtons = Array.prototype.slice.call(root.querySelectorAll("button.level"));
  var progressPosition = document.getElementById("progress-position");
  var progressTotal = document.getElementById("progress-total");
  var progressBar = document.getElementById("progress-bar");
  var mask = document.getElementById("mask");
  var practiceBanner = document.getElementById("practice-banner");
  var reasonsStep = document.getElementById("reasons");
  var feedback = document.getElementById("feedback");
  var feedbackText = document.getElementById("feedback-text");
  var feedbackNext = document.getElementById("feedback-next");
  var stage = image.parentNode;
  var markingStep = document.getElementById("marking");
  var marksLayer = document.getElementById("marks-layer");
  var markCursor = document.getElementById("mark-cursor");
  var markList = document.getElementById("mark-list");

  var current = null;      // the case on screen, as the API returned it
  var shownAt = null;      // performance.now() when its image finished loading
  var pendingAnswer = null; // answer waiting for its confidence step
  var answeredMs = null;   // time on image, frozen at the moment of answering
  var busy = false;
  var prefetched = {};     // image URL -> Image object kept alive so the browser keeps it decoded
  var pendingConfidence = null; // confidence waiting for the reasons step
  var maskTimer = null;    // masks a timed image when its exposure is over
  var awaitingFeedback = false;
  var placedMarks = [];    // {x, y, confidence} in image pixels, for the answer waiting in the marking step
  var sentMarks = [];      // the marks going out with the answer
  var cursor = null;       // the keyboard's cursor on the image, in image pixels, or null when hidden

  function setStatus(text, kind) {
    statusLine.textContent = text || "";
    statusLine.className = "status" + (kind ? " " + kind : "");
  }

  function setAnswerable(enabled) {
    answerButtons.forEach(function (button) { button.disabled = !enabled; });
    if (backButton) { backButton.disabled = !enabled || !current || current.position <= 1; }
  }

  function api(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": config.csrf }
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      if (response.status === 204) { return { status: 204, data: null }; }
      return response.json().then(function (data) { return { status: response.status, data: data }; },
        function () { return { status: response.status, data: {} }; });
    });
  }

  function prefetch(url) {
    if (!url || prefetched[url]) { return; }
    var img = new Image();
    img.decoding = "async";
    img.src = url;
    prefetched[url] = img;
  }

  function updateProgress(caseData) {
    if (practiceBanner) {
      practiceBanner.hidden = !caseData.practice;
      if (caseData.practice) {
        document.getElementById("practice-position").textContent = String(caseData.position);
        document.getElementById("practice-total").textContent = String(caseData.total);
      }
    }
    if (caseData.practice || !config.showProgress || !progressBar) { return; }
    progressPosition.textContent = String(caseData.position);
    progressTotal.textContent = String(caseData.total);
    progressBar.max = caseData.total;
    progressBar.value = caseData.answered;
  }

  function markPreviousVote(vote) {
    answerButtons.forEach(function (button) {
      button.classList.toggle("chosen", !!vote && button.dataset.answer === vote.answer);
    });
  }

  function unmask() {
    if (maskTimer !== null) { window.clearTimeout(maskTimer); maskTimer = null; }
    mask.hidden = true;
    image.hidden = false;
    root.dataset.masked = "0";
  }

  function maskImage() {
    // The exposure is over: the image leaves the page (not merely covered), the answer buttons stay.
    maskTimer = null;
    image.hidden = true;
    image.removeAttribute("src");
    mask.hidden = false;
    root.dataset.masked = "1";
  }

  function show(caseData) {
    unmask();
    current = caseData;
    root.dataset.ready = "0";
    root.dataset.practice = caseData.practice ? "1" : "0";
    shownAt = null;
    pendingAnswer = null;
    pendingConfidence = null;
    answeredMs = null;
    confidenceStep.hidden = true;
    if (reasonsStep) { reasonsStep.hidden = true; }
    leaveMarking();
    sentMarks = [];
    feedback.hidden = true;
    setAnswerable(false);
    markPreviousVote(caseData.vote || null);
    updateProgress(caseData);
    if (caseData.finding) {
      finding.textContent = "Finding: " + caseData.finding;
      finding.hidden = false;
    } else {
      finding.hidden = true;
    }
    root.dataset.case = caseData.case;
    root.dataset.position = String(caseData.position);
    stageMessage.textContent = "";
    if (caseData.exposure_over) {
      // Shown before (the page was reloaded) and its time is over: it is not shown again; answer without it.
      shownAt = performance.now();
      maskImage();
      root.dataset.ready = "1";
      setAnswerable(true);
      prefetch(caseData.prefetch_image_url);
      return;
    }
    image.classList.add("loading");
    image.src = caseData.image_url;
    if (image.complete && image.naturalWidth > 0) { onImageLoaded(); }
    prefetch(caseData.prefetch_image_url);
  }

  function onImageLoaded() {
    if (!current || shownAt !== null) { return; }
    shownAt = performance.now();
    image.classList.remove("loading");
    if (current.exposure_ms) {
      root.dataset.exposureMs = String(current.exposure_ms);
      maskTimer = window.setTimeout(maskImage, current.exposure_ms);
    }
    root.dataset.ready = "1";
    setAnswerable(true);
  }

  image.addEventListener("load", onImageLoaded);
  image.addEventListener("error", function () {
    if (!current || root.dataset.masked === "1") { return; }
    stageMessage.textContent = "The image could not be loaded. Retrying…";
    window.setTimeout(function () { image.src = current.image_url + "?retry=" + Date.now(); }, 1500);
  });

  function loadNext() {
    root.dataset.ready = "0";
    setAnswerable(false);
    return api("GET", config.nextUrl).then(function (result) {
      if (result.status === 204) {
        window.location.assign(config.finishedUrl);
        return;
      }
      if (result.status !== 200) {
        stageMessage.textContent = (result.data && result.data.detail) || "The study is not available.";
        return;
      }
      show(result.data);
    }, function () {
      stageMessage.textContent = "No connection. Retrying…";
      window.setTimeout(loadNext, 2000);
    });
  }

  function loadPosition(position) {
    root.dataset.ready = "0";
    setAnswerable(false);
    var url = config.positionUrl.replace(/\/0\/$/, "/" + position + "/");
    return api("GET", url).then(function (result) {
      if (result.status === 200) { show(result.data); } else { loadNext(); }
    }, function () { setStatus("No connection; try again.", "error"); setAnswerable(true); });
  }

  function submit(answer, confidence, reasons) {
    if (!current) { return; }
    busy = true;
    root.dataset.ready = "0";
    setAnswerable(false);
    levelButtons.forEach(function (button) { button.disabled = true; });
    var body = { case: current.case, answer: answer, time_ms: answeredMs };
    if (confidence) { body.confidence = confidence; }
    if (reasons && (reasons.cues.length || reasons.note)) { body.cues = reasons.cues; body.note = reasons.note; }
    if (sentMarks.length) {
      body.marks = sentMarks.map(function (mark) {
        var out = { x: mark.x, y: mark.y };
        if (config.askConfidence) { out.confidence = mark.confidence; }
        return out;
      });
    }
    setStatus("Saving…");
    var attempt = 0;

    function send() {
      attempt += 1;
      api("POST", config.votesUrl, body).then(function (result) {
        if (result.status === 200 || result.status === 201) {
          setStatus("Saved", "ok");
          finishSubmit();
          if (result.data && result.data.practice && result.data.truth) { showFeedback(result.data); return; }
          loadNext();
        } else if (result.status === 409 && result.data && result.data.vote) {
          setStatus("Already answered; votes are final in this study.", "error");
          finishSubmit();
          loadNext();
        } else {
          setStatus((result.data && result.data.detail) || "The vote was refused.", "error");
          finishSubmit();
          setAnswerable(true);
        }
      }, function () {
        // Network trouble: keep the vote and try again until it is stored.
        setStatus("Not saved yet, retrying (" + attempt + ")…", "error");
        window.setTimeout(send, Math.min(8000, 500 * attempt));
      });
    }
    send();
  }

  function showFeedback(data) {
    awaitingFeedback = true;
    feedbackText.textContent = "This practice image was " + (data.truth === "real" ? "real" : "generated") +
      ": your answer was " + (data.correct ? "right." : "wrong.");
    feedback.hidden = false;
    feedbackNext.focus({ preventScroll: true });
  }

  function leaveFeedback() {
    if (!awaitingFeedback) { return; }
    awaitingFeedback = false;
    feedback.hidden = true;
    loadNext();
  }

  function finishSubmit() {
    busy = false;
    pendingAnswer = null;
    pendingConfidence = null;
    confidenceStep.hidden = true;
    if (reasonsStep) { reasonsStep.hidden = true; }
    leaveMarking();
    sentMarks = [];
    levelButtons.forEach(function (button) { button.disabled = false; });
  }

  // --- marks -------------------------------------------------------------------------------------------------

  function marking() { return !!markingStep && !markingStep.hidden; }

  function needsMarks(answer) {
    if (!markingStep || config.marksMode === "off" || current.practice || root.dataset.masked === "1") { return false; }
    return config.marksMode === "fake_and_real" || answer === "fake";
  }

  function fitLayer() {
    // The layer lies exactly over the image as drawn, so a click's place in it is its place in the image.
    if (!marksLayer) { return; }
    var box = image.getBoundingClientRect(), around = stage.getBoundingClientRect();
    marksLayer.style.left = (box.left - around.left) + "px";
    marksLayer.style.top = (box.top - around.top) + "px";
    marksLayer.style.width = box.width + "px";
    marksLayer.style.height = box.height + "px";
  }

  function percent(value) { return (100 * value / config.markImageSize) + "%"; }

  function drawMarks() {
    Array.prototype.slice.call(marksLayer.querySelectorAll(".mark")).forEach(function (node) { node.remove(); });
    markList.textContent = "";
    placedMarks.forEach(function (mark, index) {
      var dot = document.createElement("button");
      dot.type = "button";
      dot.className = "mark";
      dot.dataset.index = String(index);
      dot.style.left = percent(mark.x);
      dot.style.top = percent(mark.y);
      dot.style.width = dot.style.height = percent(2 * config.markRadius);
      dot.setAttribute("aria-label", "Mark " + (index + 1) + ": remove");
      var number = document.createElement("span");
      number.textContent = String(index + 1);
      dot.appendChild(number);
      marksLayer.appendChild(dot);

      var item = document.createElement("li");
      item.appendChild(document.createTextNode("Mark " + (index + 1) + " at " + Math.round(mark.x) + ", " + Math.round(mark.y)));
      if (config.askConfidence) {
        var level = document.createElement("select");
        level.setAttribute("aria-label", "Confidence of mark " + (index + 1));
        for (var n = 1; n <= 5; n += 1) {
          var option = document.createElement("option");
          option.value = String(n);
          option.textContent = String(n);
          option.selected = n === mark.confidence;
          level.appendChild(option);
        }
        level.addEventListener("change", function () { mark.confidence = Number(level.value); });
        item.appendChild(level);
      }
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "ghost";
      remove.textContent = "Remove";
      remove.addEventListener("click", function () { removeMark(index); });
      item.appendChild(remove);
      markList.appendChild(item);
    });
    root.dataset.marks = String(placedMarks.length);
  }

  function placeMark(x, y) {
    if (placedMarks.length >= config.maxMarks) {
      setStatus("At most " + config.maxMarks + " mark" + (config.maxMarks > 1 ? "s" : "") +
        "; remove one to place another.", "error");
      return;
    }
    var last = config.markImageSize - 0.01;
    placedMarks.push({ x: Math.min(last, Math.max(0, Math.round(x * 100) / 100)),
                       y: Math.min(last, Math.max(0, Math.round(y * 100) / 100)),
                       confidence: pendingConfidence || 3 });
    setStatus("");
    drawMarks();
  }

  function removeMark(index) {
    placedMarks.splice(index, 1);
    setStatus("");
    drawMarks();
  }

  function drawCursor() {
    markCursor.hidden = cursor === null;
    if (cursor !== null) {
      markCursor.style.left = percent(cursor.x);
      markCursor.style.top = percent(cursor.y);
    }
  }

  function askMarks(answer, confidence) {
    pendingAnswer = answer;
    pendingConfidence = confidence;
    confidenceStep.hidden = true;
    placedMarks = [];
    cursor = null;
    drawMarks();
    drawCursor();
    document.getElementById("marking-prompt").textContent = answer === "fake" ?
      "Where did it give itself away?" : "Anything that looked generated?";
    marksLayer.hidden = false;
    marksLayer.classList.add("active");
    markingStep.hidden = false;
    fitLayer();  // after the step is shown: on a tablet the panel below the image can move and resize it
    root.dataset.marking = "1";
    document.getElementById("marks-done").focus({ preventScroll: true });
  }

  function leaveMarking() {
    if (!markingStep) { return; }
    markingStep.hidden = true;
    marksLayer.hidden = true;
    marksLayer.classList.remove("active");
    placedMarks = [];
    cursor = null;
    root.dataset.marking = "0";
  }

  function finishMarks(skip) {
    if (busy || !pendingAnswer || !marking()) { return; }
    sentMarks = skip ? [] : placedMarks.slice();
    var answer = pendingAnswer, confidence = pendingConfidence;
    leaveMarking();
    if (needsReasons(answer)) { askReasons(answer, confidence); return; }
    submit(answer, confidence);
  }

  function markingKey(event) {
    var key = event.key, step = event.shiftKey ? 16 : 4, half = config.markImageSize / 2;
    var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[key]) {
      event.preventDefault();
      var last = config.markImageSize - 0.01;
      if (cursor === null) { cursor = { x: half, y: half }; }
      else {
        cursor = { x: Math.min(last, Math.max(0, cursor.x + moves[key][0])),
                   y: Math.min(last, Math.max(0, cursor.y + moves[key][1])) };
      }
      drawCursor();
    } else if (key === "Enter") {
      event.preventDefault();
      if (cursor !== null) { placeMark(cursor.x, cursor.y); cursor = null; drawCursor(); }
      else { finishMarks(false); }
    } else if (key === "s" || key === "S") { event.preventDefault(); finishMarks(true); }
    else if ((key === "Backspace" || key === "Delete") && placedMarks.length) {
      event.preventDefault();
      removeMark(placedMarks.length - 1);
    } else if (key === "Escape" && !busy) {
      leaveMarking();
      pendingAnswer = null;
      markPreviousVote(current && current.vote);
    }
  }

  if (markingStep) {
    marksLayer.addEventListener("click", function (event) {
      if (!marking()) { return; }
      var dot = event.target.closest(".mark");
      if (dot) { removeMark(Number(dot.dataset.index)); return; }
      var box = image.getBoundingClientRect();  // the image as drawn now, whatever moved it since
      placeMark((event.clientX - box.left) / box.width * config.markImageSize,
                (event.clientY - box.top) / box.height * config.markImageSize);
    });
    document.getElementById("marks-done").addEventListener("click", function () { finishMarks(false); });
    document.getElementById("marks-skip").addEventListener("click", function () { finishMarks(true); });
    window.addEventListener("resize", function () { if (marking()) { fitLayer(); } });
    if (window.ResizeObserver) {
      new window.ResizeObserver(function () { if (marking()) { fitLayer(); } }).observe(stage);
    }
  }

  function needsReasons(answer) {
    return config.askReasons && reasonsStep && answer === "fake" && !current.practice;
  }

  function askReasons(answer, confidence) {
    pendingAnswer = answer;
    pendingConfidence = confidence;
    confidenceStep.hidden = true;
    Array.prototype.forEach.call(reasonsStep.querySelectorAll("input.cue"), function (box) { box.checked = false; });
    document.getElementById("reason-note").value = "";
    reasonsStep.hidden = false;
    document.getElementById("reasons-done").focus({ preventScroll: true });
  }

  function finishReasons() {
    if (busy || !pendingAnswer || reasonsStep.hidden) { return; }
    var cues = Array.prototype.filter.call(reasonsStep.querySelectorAll("input.cue"), function (box) {
      return box.checked;
    }).map(function (box) { return Number(box.value); });
    submit(pendingAnswer, pendingConfidence, { cues: cues, note: document.getElementById("reason-note").value });
  }

  function choose(answer) {
    if (busy || awaitingFeedback || !current || shownAt === null) { return; }
    if ((reasonsStep && !reasonsStep.hidden) || marking()) { return; }
    if (pendingAnswer === null) { answeredMs = Math.max(0, Math.round(performance.now() - shownAt)); }
    if (config.askConfidence) {
      pendingAnswer = answer;
      answerButtons.forEach(function (button) { button.classList.toggle("chosen", button.dataset.answer === answer); });
      confidenceStep.hidden = false;
      levelButtons[0].focus({ preventScroll: true });
      return;
    }
    if (needsMarks(answer)) { askMarks(answer, null); return; }
    if (needsReasons(answer)) { askReasons(answer, null); return; }
    submit(answer, null);
  }

  function chooseConfidence(level) {
    if (busy || !pendingAnswer || (reasonsStep && !reasonsStep.hidden) || marking()) { return; }
    if (needsMarks(pendingAnswer)) { askMarks(pendingAnswer, level); return; }
    if (needsReasons(pendingAnswer)) { askReasons(pendingAnswer, level); return; }
    submit(pendingAnswer, level);
  }

  function goBack() {
    if (busy || !config.allowChanges || !current || current.position <= 1) { return; }
    setStatus("");
    loadPosition(current.position - 1);
  }

  answerButtons.forEach(function (button) {
    button.addEventListener("click", function () { choose(button.dataset.answer); });
  });
  levelButtons.forEach(function (button) {
    button.addEventListener("click", function () { chooseConfidence(Number(button.dataset.confidence)); });
  });
  if (backButton) { backButton.addEventListener("click", goBack); }
  if (reasonsStep) { document.getElementById("reasons-done").addEventListener("click", finishReasons); }
  feedbackNext.addEventListener("click", leaveFeedback);

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var key = event.key;
    if (awaitingFeedback) {
      if (key === "n" || key === "N" || key === "Enter") { event.preventDefault(); leaveFeedback(); }
      return;
    }
    if (marking()) {
      if (event.target.tagName !== "SELECT" || key === "Enter") { markingKey(event); }
      return;
    }
    if (reasonsStep && !reasonsStep.hidden) {
      if (key === "Enter" && event.target.tagName !== "TEXTAREA") { event.preventDefault(); finishReasons(); }
      return;
    }
    if (key === "r" || key === "R" || key === "ArrowLeft") { event.preventDefault(); choose("real"); }
    else if (key === "f" || key === "F" || key === "ArrowRight") { event.preventDefault(); choose("fake"); }
    else if (pendingAnswer && key >= "1" && key <= "5") { event.preventDefault(); chooseConfidence(Number(key)); }
    else if (key === "Escape" && pendingAnswer && !busy) {
      pendingAnswer = null;
      confidenceStep.hidden = true;
      markPreviousVote(current && current.vote);
    }
    else if ((key === "b" || key === "B") && config.allowChanges) { event.preventDefault(); goBack(); }
  });

  loadNext();
})();
