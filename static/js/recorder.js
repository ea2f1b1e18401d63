/* The candidate's video interview recorder (templates/interviews/public/recorder.html).
 *
 * Steps: camera and microphone check → practice question (kept on the device) → each question:
 * think-time countdown, then MediaRecorder with an answer countdown (stop early allowed), retakes
 * as the question allows → the finish page, which sends the interview.
 *
 * Each take is uploaded while it is recorded: MediaRecorder hands over about a second of video
 * at a time and the uploader PUTs the bytes at the offset the server holds (Content-Range). A
 * dropped connection is retried from the server's offset, so nothing is lost or sent twice;
 * a reloaded page asks the server where each question stands (the status URL) and continues at
 * the first question without an answer. Where MediaRecorder is missing, a video file from the
 * phone's camera (<input type=file capture>) goes through the same chunked upload.
 */
(function () {
  "use strict";

  var root = document.getElementById("recorder");
  if (!root) return;

  var csrfInput = root.querySelector("input[name=csrfmiddlewaretoken]");
  var csrf = csrfInput ? csrfInput.value : "";
  var urls = {
    status: root.dataset.statusUrl,
    takes: root.dataset.takesUrl,
    finish: root.dataset.finishUrl
  };
  var PIECE_BYTES = 2 * 1024 * 1024;
  var canRecord = typeof window.MediaRecorder === "function" && !!navigator.mediaDevices &&
    typeof navigator.mediaDevices.getUserMedia === "function";

  var state = null; // the server's status: {status, questions: [...], can_finish}
  var stream = null;
  var busy = 0; // uploads in flight (the page asks before it is left while > 0)
  var current = null; // the question on screen
  var pollTimer = null;

  function role(name) { return root.querySelector('[data-role="' + name + '"]'); }
  function actions(name) { return root.querySelectorAll('[data-action="' + name + '"]'); }
  function action(name) { return actions(name)[0]; }
  function showActions(names) {
    root.querySelectorAll('[data-step="question"] [data-action]').forEach(function (button) {
      button.hidden = names.indexOf(button.dataset.action) < 0;
    });
  }
  function show(step) {
    root.querySelectorAll("[data-step]").forEach(function (section) {
      section.hidden = section.dataset.step !== step;
    });
    if (step !== "finish" && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    window.scrollTo(0, 0);
  }
  function say(name, text) {
    var element = role(name);
    element.textContent = text || "";
    element.hidden = !text;
  }
  function clock(seconds) {
    var s = Math.max(0, Math.ceil(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // ------------------------------------------------------------------------------------------
  // Talking to the server
  // ------------------------------------------------------------------------------------------

  function HttpError(status, body) {
    this.status = status;
    this.body = body || {};
    this.message = this.body.error || ("The server answered " + status + ".");
  }

  function request(url, options) {
    options = options || {};
    var headers = Object.assign({ "X-CSRFToken": csrf, "Accept": "application/json" },
      options.headers || {});
    return fetch(url, Object.assign({}, options, { headers: headers, credentials: "same-origin" }))
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) throw new HttpError(response.status, body);
          return body;
        });
      });
  }

  function postJson(url, body) {
    return request(url, {
      method: "POST", body: JSON.stringify(body || {}),
      headers: { "Content-Type": "application/json" }
    });
  }

  // A network failure or a server error is worth retrying; a refusal (4xx) is not.
  function retryable(error) { return !(error instanceof HttpError) || error.status >= 500; }

  function loadStatus() {
    return request(urls.status).then(function (body) { state = body; return body; });
  }

  // ------------------------------------------------------------------------------------------
  // One take's upload, resumable
  // ------------------------------------------------------------------------------------------

  function Upload(question, contentType, onProgress) {
    this.question = question;
    this.contentType = contentType || "video/webm";
    this.parts = [];
    this.total = 0;
    this.acked = 0;
    this.closed = false;
    this.pumping = null;
    this.onProgress = onProgress || function () {};
  }

  Upload.prototype.start = function () {
    var self = this;
    return postJson(urls.takes, { question: this.question.index, content_type: this.contentType })
      .then(function (take) {
        self.chunksUrl = take.chunks;
        self.finishUrl = take.finish;
        self.attempt = take.attempt;
        return take;
      });
  };

  Upload.prototype.add = function (blob) {
    if (!blob || !blob.size) return;
    this.parts.push(blob);
    this.total += blob.size;
    this.pump();
  };

  Upload.prototype.serverOffset = function () {
    var self = this;
    return request(this.chunksUrl).then(function (body) { self.acked = body.offset; });
  };

  // Send what the server does not hold yet, piece by piece, until it holds everything added.
  Upload.prototype.pump = function () {
    var self = this;
    if (this.pumping) return this.pumping;
    busy += 1;
    var delay = 500;
    function step() {
      if (self.acked >= self.total) return Promise.resolve();
      var end = Math.min(self.total, self.acked + PIECE_BYTES);
      var piece = new Blob(self.parts).slice(self.acked, end);
      return request(self.chunksUrl, {
        method: "PUT", body: piece,
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Range": "bytes " + self.acked + "-" + (end - 1) + "/*"
        }
      }).then(function (body) {
        self.acked = body.offset;
        delay = 500;
        self.onProgress(self, "");
        return step();
      }, function (error) {
        if (error instanceof HttpError && error.status === 409 && typeof error.body.offset === "number" &&
            error.body.code === "offset_gap") {
          self.acked = error.body.offset; // the server holds less: continue from there
          return step();
        }
        if (!retryable(error)) throw error;
        self.onProgress(self, "The connection dropped. Retrying…");
        return sleep(delay).then(function () {
          delay = Math.min(delay * 2, 8000);
          return self.serverOffset().catch(function () {});
        }).then(step);
      });
    }
    this.pumping = step().finally(function () {
      busy -= 1;
      self.pumping = null;
    });
    return this.pumping;
  };

  // Once everything is in, tell the server the size; it then processes the take.
  Upload.prototype.finish = function () {
    var self = this;
    this.closed = true;
    function attempt(delay) {
      return self.pump().then(function () {
        if (self.acked < self.total) return attempt(delay);
        return postJson(self.finishUrl, { size: self.total });
      }).catch(function (error) {
        if (error instanceof HttpError && error.body.code === "size_mismatch") {
          self.acked = error.body.offset;
          return attempt(delay);
        }
        if (!retryable(error)) throw error;
        self.onProgress(self, "The connection dropped. Retrying…");
        return sleep(delay).then(function () { return attempt(Math.min(delay * 2, 8000)); });
      });
    }
    busy += 1;
    return attempt(500).finally(function () { busy -= 1; });
  };

  window.addEventListener("beforeunload", function (event) {
    if (busy > 0) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // ------------------------------------------------------------------------------------------
  // Camera and microphone
  // ------------------------------------------------------------------------------------------

  function deviceProblem(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "You did not allow this page to use your camera and microphone. Allow them in your " +
        "browser's site settings (the camera icon next to the address), then press the button again.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "We could not find a camera and a microphone on this device. Connect them, or open " +
        "this link on your phone, then press the button again.";
    }
    if (name === "NotReadableError" || name === "AbortError") {
      return "Your camera or microphone is being used by another app. Close that app, then press " +
        "the button again.";
    }
    return "Your browser could not start the camera (" + (name || "unknown problem") + "). Try " +
      "again, or open this link in another browser.";
  }

  function openCamera() {
    if (stream) return Promise.resolve(stream);
    return navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
      audio: true
    }).then(function (value) { stream = value; return value; });
  }

  function showMeter() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || !stream) return;
    try {
      var context = new Context();
      var analyser = context.createAnalyser();
      analyser.fftSize = 256;
      context.createMediaStreamSource(stream).connect(analyser);
      var data = new Uint8Array(analyser.frequencyBinCount);
      var bar = role("meter-bar");
      role("meter").hidden = false;
      var tick = function () {
        analyser.getByteTimeDomainData(data);
        var peak = 0;
        for (var i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i] - 128));
        bar.style.width = Math.min(100, Math.round(peak / 1.28)) + "%";
        if (!root.querySelector('[data-step="check"]').hidden) requestAnimationFrame(tick);
        else context.close();
      };
      requestAnimationFrame(tick);
    } catch (error) {
      role("meter").hidden = true;
    }
  }

  function attach(video) {
    video.srcObject = stream;
    video.muted = true;
    video.controls = false;
    return video.play().catch(function () {});
  }

  function mimeType() {
    var candidates = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm",
      "video/mp4;codecs=avc1,mp4a", "video/mp4"];
    if (typeof MediaRecorder.isTypeSupported !== "function") return "";
    for (var i = 0; i < candidates.length; i++) {
      if (MediaRecorder.isTypeSupported(candidates[i])) return candidates[i];
    }
    return "";
  }

  // ------------------------------------------------------------------------------------------
  // Countdowns
  // ------------------------------------------------------------------------------------------

  // Counts ``seconds`` down in ``element`` with ``label``; resolves when it reaches 0 or when
  // ``skip()`` is called on the returned promise.
  function countdown(element, seconds, label) {
    var resolveNow;
    var done = new Promise(function (resolve) { resolveNow = resolve; });
    var ends = Date.now() + seconds * 1000;
    function draw() {
      var left = (ends - Date.now()) / 1000;
      element.textContent = label + " " + clock(left);
      element.classList.toggle("urgent", left <= 10);
      if (left <= 0) { finish(); }
    }
    var timer = setInterval(draw, 250);
    function finish() { clearInterval(timer); element.classList.remove("urgent"); resolveNow(); }
    draw();
    done.skip = finish;
    return done;
  }

  // ------------------------------------------------------------------------------------------
  // The camera check and the practice question
  // ------------------------------------------------------------------------------------------

  function startCheck() {
    show("check");
    var progress = state.questions.some(function (q) { return q.state !== "todo" || q.unfinished; });
    action("camera-ok").textContent = progress
      ? "I can see myself: continue where I stopped" : "I can see myself: continue";
    action("camera-ok").dataset.resume = progress ? "yes" : "";
  }

  action("camera-on").addEventListener("click", function () {
    say("device-error", "");
    openCamera().then(function () {
      attach(role("preview"));
      showMeter();
      action("camera-on").hidden = true;
      action("camera-ok").hidden = false;
    }, function (error) {
      say("device-error", deviceProblem(error));
    });
  });

  action("camera-ok").addEventListener("click", function () {
    if (action("camera-ok").dataset.resume) nextStep(-1);
    else startPractice();
  });

  var practiceUrl = null;
  function startPractice() {
    show("practice");
    role("practice-text").textContent = root.dataset.practiceText;
    var video = role("practice-video");
    attach(video);
    ["practice-stop", "practice-again"].forEach(function (n) { action(n).hidden = true; });
    actions("start-interview").forEach(function (b) { b.hidden = b.closest('[data-step="practice"]') === null; });
    action("practice-start").hidden = false;
    role("practice-clock").textContent = "";
  }

  function practise() {
    var video = role("practice-video");
    var clockEl = role("practice-clock");
    action("practice-start").hidden = true;
    action("practice-again").hidden = true;
    if (practiceUrl) { URL.revokeObjectURL(practiceUrl); practiceUrl = null; }
    attach(video);
    var think = countdown(clockEl, Number(root.dataset.practiceThink), "Recording starts in");
    think.then(function () {
      var parts = [];
      var type = mimeType();
      var recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      recorder.ondataavailable = function (event) { if (event.data.size) parts.push(event.data); };
      var answer = countdown(clockEl, Number(root.dataset.practiceAnswer), "Recording · time left");
      recorder.onstop = function () {
        answer.skip();
        action("practice-stop").hidden = true;
        action("practice-again").hidden = false;
        var size = parts.reduce(function (total, part) { return total + part.size; }, 0);
        if (!size) {
          // Stopped before the camera gave a frame (or it gives none): there is nothing to
          // play, and a video element pointed at an empty recording fails to load it.
          clockEl.textContent = "Nothing was recorded. Check that your camera is on, " +
            "then press \u201cPractise again\u201d and speak for a moment before you stop.";
          return;
        }
        clockEl.textContent = "Here is your practice answer.";
        practiceUrl = URL.createObjectURL(new Blob(parts, { type: recorder.mimeType || type }));
        video.srcObject = null;
        video.src = practiceUrl;
        video.muted = false;
        video.controls = true;
      };
      recorder.start(1000);
      action("practice-stop").hidden = false;
      action("practice-stop").onclick = function () { if (recorder.state !== "inactive") recorder.stop(); };
      answer.then(function () { if (recorder.state !== "inactive") recorder.stop(); });
    });
  }
  action("practice-start").addEventListener("click", practise);
  action("practice-again").addEventListener("click", function () {
    var video = role("practice-video");
    video.removeAttribute("src");
    video.controls = false;
    practise();
  });
  // Leaving the practice: its playback is stopped and its recording released, so the hidden
  // video element reads nothing more from it (a read of a released recording is an error).
  function endPractice() {
    var video = role("practice-video");
    if (video) {
      video.pause();
      video.removeAttribute("src");
      video.load();
    }
    if (practiceUrl) { URL.revokeObjectURL(practiceUrl); practiceUrl = null; }
  }
  actions("start-interview").forEach(function (button) {
    button.addEventListener("click", function () { endPractice(); nextStep(-1); });
  });

  // ------------------------------------------------------------------------------------------
  // Questions
  // ------------------------------------------------------------------------------------------

  function open(question) { return question.state === "todo" || question.state === "failed"; }

  // The first unanswered question after ``index`` (then from the start), else the finish page.
  function nextStep(index) {
    var questions = state.questions;
    var next = questions.filter(function (q) { return q.index > index && open(q); })[0] ||
      questions.filter(open)[0];
    if (next) askQuestion(next);
    else showFinish();
  }

  function questionFromState(index) {
    return state.questions.filter(function (q) { return q.index === index; })[0];
  }

  function uploadNote(upload, text) {
    if (text) { role("upload-state").textContent = text; return; }
    var mb = function (n) { return (n / 1048576).toFixed(1); };
    role("upload-state").textContent = upload.closed
      ? "Uploading your answer: " + mb(upload.acked) + " of " + mb(upload.total) + " MB"
      : "Saved as you speak: " + mb(upload.acked) + " MB";
  }

  function askQuestion(question) {
    current = question;
    show("question");
    var count = state.questions.length;
    role("question-number").textContent = "Question " + (question.index + 1) + " of " + count;
    role("question-text").textContent = question.text;
    role("question-clock").textContent = "";
    role("upload-state").textContent = "";
    role("live").hidden = true;
    if (question.state === "failed") say("question-problem", question.message);
    else if (question.unfinished) say("question-problem", "Your last recording of this question was interrupted before it was uploaded. Please record it again.");
    else say("question-problem", "");
    if (!canRecord) {
      role("file-picker").hidden = false;
      role("file-input").value = "";
      showActions(["upload-file"]);
      return;
    }
    role("file-picker").hidden = true;
    openCamera().then(function () {
      attach(role("question-video"));
      var think = countdown(role("question-clock"), question.think_seconds, "Recording starts in");
      showActions(["record-now"]);
      action("record-now").onclick = function () { think.skip(); };
      think.then(function () { record(question); });
    }, function (error) {
      say("question-problem", deviceProblem(error));
      showActions([]);
    });
  }

  function record(question) {
    showActions([]);
    var type = mimeType();
    var upload = new Upload(question, type.split(";")[0] || "video/webm", uploadNote);
    upload.start().then(function () {
      var recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      var answer = countdown(role("question-clock"), question.answer_seconds, "Recording · time left");
      recorder.ondataavailable = function (event) { upload.add(event.data); };
      recorder.onstop = function () {
        answer.skip();
        role("live").hidden = true;
        role("question-clock").textContent = "Recording stopped.";
        showActions([]);
        uploadNote(upload);
        upload.finish().then(function (body) {
          state = body;
          afterTake(question.index);
        }, function (error) {
          say("question-problem", error.message);
          showActions(["retake"]);
          action("retake").textContent = "Record again";
        });
      };
      recorder.start(1000);
      role("live").hidden = false;
      showActions(["stop"]);
      action("stop").onclick = function () { if (recorder.state !== "inactive") recorder.stop(); };
      answer.then(function () { if (recorder.state !== "inactive") recorder.stop(); });
    }, function (error) {
      say("question-problem", error.message);
      loadStatus().then(function () { afterTake(question.index); });
    });
  }

  function afterTake(index) {
    var question = questionFromState(index);
    current = question;
    role("upload-state").textContent = question.state === "failed"
      ? "" : "Answer " + (index + 1) + " is saved (take " + question.attempt + ").";
    if (question.state === "failed") say("question-problem", question.message);
    var names = ["next"];
    if (question.takes_left > 0 || question.state === "failed") {
      names.push("retake");
      action("retake").textContent = question.state === "failed" ? "Record again"
        : "Record again (" + question.takes_left + " take" + (question.takes_left === 1 ? "" : "s") + " left; the last one counts)";
    }
    var more = state.questions.some(function (q) { return q.index !== index && open(q); });
    action("next").textContent = more ? "Next question" : "Review and send";
    if (question.state === "failed") names = ["retake"];
    showActions(names);
  }

  action("retake").addEventListener("click", function () { askQuestion(questionFromState(current.index)); });
  action("next").addEventListener("click", function () { nextStep(current.index); });

  action("upload-file").addEventListener("click", function () {
    var file = role("file-input").files[0];
    if (!file) {
      say("question-problem", "Record a video or choose one first, then press “Upload this video”.");
      return;
    }
    if (file.size > state.max_answer_bytes) {
      say("question-problem", "This video is larger than " + Math.round(state.max_answer_bytes / 1048576) +
        " MB. Record a shorter answer.");
      return;
    }
    say("question-problem", "");
    showActions([]);
    var question = current;
    var upload = new Upload(question, file.type || "video/mp4", uploadNote);
    upload.closed = true;
    upload.start().then(function () {
      upload.add(file);
      return upload.finish();
    }).then(function (body) {
      state = body;
      afterTake(question.index);
    }, function (error) {
      say("question-problem", error.message);
      showActions(["upload-file"]);
    });
  });

  // ------------------------------------------------------------------------------------------
  // Finishing
  // ------------------------------------------------------------------------------------------

  var WORDS = {
    ready: "Saved",
    processing: "Saved (being prepared for the team)",
    failed: "We could not play this answer: please record it again",
    todo: "Not answered yet"
  };

  function drawSummary() {
    var list = role("summary");
    list.textContent = "";
    state.questions.forEach(function (question) {
      var item = document.createElement("li");
      item.dataset.state = question.state;
      item.appendChild(document.createTextNode(question.text));
      var words = document.createElement("span");
      words.className = "state " + question.state;
      words.textContent = WORDS[question.state] || question.state;
      item.appendChild(words);
      if (open(question)) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn small secondary";
        button.textContent = question.state === "failed" ? "Record it again" : "Answer it";
        button.addEventListener("click", function () { askQuestion(question); });
        item.appendChild(button);
      }
      list.appendChild(item);
    });
    action("finish").disabled = !state.can_finish;
  }

  function showFinish() {
    show("finish");
    say("finish-problem", "");
    drawSummary();
    if (!pollTimer) {
      pollTimer = setInterval(function () {
        loadStatus().then(drawSummary).catch(function () {});
      }, 4000);
    }
  }

  action("finish").addEventListener("click", function () {
    action("finish").disabled = true;
    postJson(urls.finish, {}).then(function (body) {
      window.location.assign(body.redirect);
    }, function (error) {
      say("finish-problem", error.message);
      loadStatus().then(drawSummary);
    });
  });

  // ------------------------------------------------------------------------------------------
  // Start
  // ------------------------------------------------------------------------------------------

  function begin() {
    loadStatus().then(function () {
      if (!canRecord) { show("fallback-intro"); return; }
      startCheck();
    }, function (error) {
      var section = root.querySelector('[data-step="loading"] p');
      section.textContent = error.message + " Reload the page to try again.";
    });
  }
  begin();
})();
