// The browser softphone of the agent workspace (issue 15, decision 0040): the microphone
// and the speaker over WebRTC to the voice engine, signalling over a WebSocket at this
// origin. Texts come from the page (translated there), in data-msg-* attributes.
(() => {
  const root = document.getElementById("softphone");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const msg = (name) => root.dataset["msg" + name[0].toUpperCase() + name.slice(1)] || name;
  const state = { ws: null, pc: null, mic: null, call: null, muted: false, held: false,
                  stopped: false, retry: 0, heartbeat: null, heard: 0 };
  // The engine answers each heartbeat (every 2 s): this long without a word from it, the
  // network is taken for lost (a dead connection may never report its close).
  const SILENCE_MS = 6000;
  window.chappePhone = state;  // for the end-to-end tests (getStats)

  const show = (id, visible) => { $(id).hidden = !visible; };
  function status(text, kind) {
    const box = $("softphone-status");
    box.textContent = text;
    box.className = "alert alert-" + (kind || "info");
    box.hidden = false;
  }

  function send(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  }

  async function start() {
    state.stopped = false;
    sessionStorage.setItem("chappe-phone", "on");  // a reload starts it again
    show("softphone-start", false);
    try {
      state.mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (error) {
      status(msg("micRefused"), "error");
      show("softphone-start", true);
      return;
    }
    connect();
  }

  function connect() {
    status(msg("connecting"), "info");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = state.ws = new WebSocket(scheme + location.host + root.dataset.socket);
    ws.onmessage = (event) => { state.heard = Date.now(); receive(JSON.parse(event.data)); };
    ws.onopen = () => {
      state.retry = 0;
      state.heard = Date.now();
      clearInterval(state.heartbeat);
      state.heartbeat = setInterval(() => {
        if (Date.now() - state.heard > SILENCE_MS) networkLost();
        else send({ type: "ping" });
      }, 2000);
    };
    ws.onclose = (event) => {
      clearInterval(state.heartbeat);
      closePeer();
      callOver();
      if (ws !== state.ws || state.stopped) return;
      if (event.code === 4401) { status(msg("signedOut"), "error"); return; }
      if (event.code === 4409) return;  // replaced: its message is shown already
      // Network lost or the engine restarting: try again, a little later each time.
      status(event.code === 4503 ? msg("engineDown") : msg("networkLost"), "warning");
      state.retry = Math.min(state.retry + 1, 5);
      setTimeout(() => { if (!state.stopped) connect(); }, 1000 * state.retry);
    };
  }

  // The network is gone: said at once, the call given up, the connection dropped (its
  // close reconnects, a little later each time, until the network is back).
  function networkLost() {
    status(msg("networkLost"), "warning");
    closePeer();
    callOver();
    state.ws.close();
  }

  async function negotiate() {
    closePeer();
    // The operator's STUN/TURN servers (CHAPPE_WEBRTC_ICE_SERVERS; none: host candidates).
    const ice = $("softphone-ice");
    const pc = state.pc = new RTCPeerConnection({ iceServers: ice ? JSON.parse(ice.textContent) : [] });
    for (const track of state.mic.getTracks()) pc.addTrack(track, state.mic);
    pc.ontrack = (event) => { $("softphone-audio").srcObject = event.streams[0] || new MediaStream([event.track]); };
    pc.onconnectionstatechange = () => {
      if (pc !== state.pc) return;
      if (pc.connectionState === "failed") status(msg("networkLost"), "warning");
    };
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== "complete") {
      await new Promise((done) => {
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") done();
        });
        setTimeout(done, 3000);
      });
    }
    send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  function closePeer() {
    if (state.pc) { state.pc.close(); state.pc = null; }
  }

  // The caller as the panel shows them: the number, the address book's contact, and the
  // account's CRM's name with a link to its profile (http or https only: anything else,
  // e.g. javascript:, is shown as text).
  function caller(info, fallback, crm) {
    const number = (info && info.number) || fallback || "";
    const box = $("softphone-caller");
    box.textContent = "";
    const strong = document.createElement("strong");
    strong.textContent = number;
    box.appendChild(strong);
    if (info && info.contact) {
      const link = document.createElement("a");
      link.href = info.link;
      link.textContent = info.contact;
      link.id = "softphone-contact";
      box.append(" · ", link);
    }
    if (crm && crm.full_name) {
      const web = /^https?:\/\//i.test(crm.profile_url || "");
      const name = document.createElement(web ? "a" : "span");
      name.id = "softphone-crm";
      name.textContent = crm.full_name;
      if (web) {
        name.href = crm.profile_url;
        name.target = "_blank";
        name.rel = "noopener noreferrer";
      }
      box.append(" · ", name);
    }
  }

  function callOver() {
    state.call = null;
    state.muted = state.held = false;
    show("softphone-incoming", false);
    show("softphone-oncall", false);
    show("softphone-consult-actions", false);
    $("softphone-mute").textContent = msg("mute");
    $("softphone-hold").textContent = msg("hold");
    if (state.mic) for (const track of state.mic.getAudioTracks()) track.enabled = true;
  }

  function receive(message) {
    switch (message.type) {
      case "welcome": negotiate(); break;
      case "answer": state.pc && state.pc.setRemoteDescription({ type: "answer", sdp: message.sdp }); break;
      case "ready":
        status(msg("ready"), "success");
        show("softphone-dial", true);
        if (root.dataset.dial) {  // click-to-call: dial once the phone is up
          const number = root.dataset.dial;
          root.dataset.dial = "";
          dial(number);
        }
        break;
      case "dialing":
        state.call = message.call;
        caller(null, message.number);
        $("softphone-panel-title").textContent = msg("dialing");
        show("softphone-incoming", true);
        show("softphone-ringing", false);
        show("softphone-oncall", true);
        break;
      case "dial_refused": status(message.message, "error"); break;
      case "incoming":
        state.call = message.call;
        caller(message.caller_info, message.caller, message.crm);
        $("softphone-panel-title").textContent = msg("incoming");
        show("softphone-incoming", true);
        show("softphone-oncall", false);
        break;
      case "cancelled":
        if (state.call === message.call) callOver();
        break;
      case "connected":
        state.call = message.call;
        // The wrap-up form writes to the record of the call: a queue call's by the
        // agent's leg, an outbound call's by its trunk leg (`record`).
        state.talking = message.call;
        state.wrapRef = message.outbound ? message.record : message.call;
        caller(message.caller_info, message.caller, message.crm);
        $("softphone-panel-title").textContent = message.outbound ? msg("outbound") : msg("onCall");
        show("softphone-incoming", true);
        show("softphone-ringing", false);
        show("softphone-oncall", true);
        break;
      case "ended":
        if (state.talking === message.call) wrapUp(state.wrapRef);
        callOver();
        status(msg("ended"), "info");
        break;
      case "held":
        state.held = message.on;
        $("softphone-hold").textContent = message.on ? msg("resume") : msg("hold");
        break;
      case "transfer":
        status(message.status < 300 ? msg("transferred") : msg("transferFailed"),
               message.status < 300 ? "success" : "error");
        break;
      case "replaced":
        state.stopped = true;
        sessionStorage.removeItem("chappe-phone");
        status(msg("otherTab"), "warning");
        show("softphone-start", true);
        break;
      case "consulting":
        status(msg("consulting") + " " + message.target, "info");
        show("softphone-consult-actions", true);
        $("softphone-complete").hidden = true;
        break;
      case "consult_connected":
        status(msg("consultConnected") + " " + message.target, "info");
        $("softphone-complete").hidden = false;
        break;
      case "consult_failed":
      case "consult_ended":
        show("softphone-consult-actions", false);
        status(message.type === "consult_failed" ? msg("consultFailed") : msg("consultEnded"),
               message.type === "consult_failed" ? "error" : "info");
        break;
      case "stats": state.lastStats = message; break;
      default: break;
    }
  }

  function dial(number) {
    const form = $("softphone-dial");
    send({ type: "dial", number, caller_id: form.elements.caller_id.value });
  }
  $("softphone-dial").addEventListener("submit", (event) => {
    event.preventDefault();
    const number = event.target.elements.number.value.trim();
    if (number) dial(number);
  });
  // Click-to-call opened the workspace, or the page reloaded (a state button): start the
  // phone (the microphone's permission is already given).
  if (root.dataset.dial || sessionStorage.getItem("chappe-phone") === "on") start();

  // After a call: the wrap-up form (disposition code, note), saved on the call's record.
  function wrapUp(call) {
    const form = $("softphone-wrap-up");
    form.reset();
    form.elements.call.value = call;
    form.hidden = false;
    // The wrap-up countdown: the agent's wrap-up time, after which calls are offered again.
    clearInterval(state.countdown);
    let left = parseInt(root.dataset.wrapUpSeconds || "0", 10);
    const tick = () => {
      $("softphone-countdown").textContent = left > 0
        ? msg("wrapUpLeft").replace("%(seconds)s", left) : msg("wrapUpOver");
      if (left-- <= 0) clearInterval(state.countdown);
    };
    tick();
    state.countdown = setInterval(tick, 1000);
  }
  $("softphone-wrap-up").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const response = await fetch(form.action, { method: "POST", body: new FormData(form),
                                                headers: { "X-Requested-With": "fetch" } });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      form.hidden = true;
      status(msg("wrapUpSaved"), "success");
    } else {
      status(msg("wrapUpFailed") + " " + (body.message || response.status), "error");
    }
  });

  root.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "start") start();
    else if (action === "answer" || action === "decline") {
      send({ type: action, call: state.call });
      if (action === "decline") callOver();
      else show("softphone-ringing", false);
    } else if (action === "hangup") send({ type: "hangup" });
    else if (action === "mute") {
      state.muted = !state.muted;
      for (const track of state.mic.getAudioTracks()) track.enabled = !state.muted;
      send({ type: "mute", on: state.muted });
      button.textContent = state.muted ? msg("unmute") : msg("mute");
    } else if (action === "hold") send({ type: "hold", on: !state.held });
    else if (action === "key") send({ type: "dtmf", digits: button.dataset.key });
    else if (action === "transfer" || action === "consult") {
      const target = $("softphone-transfer-target").value.trim();
      if (target) send({ type: action, target });
    } else if (action === "consult_complete" || action === "consult_cancel") {
      send({ type: action });
      show("softphone-consult-actions", false);
    }
  });
  window.addEventListener("beforeunload", () => { state.stopped = true; });
  // The browser knows it is offline: say so at once and drop the connection (the engine
  // ends the call and pauses the agent; the phone reconnects when the network is back).
  window.addEventListener("offline", () => { if (state.ws && !state.stopped) networkLost(); });
})();
