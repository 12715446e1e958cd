// The hosted capture page (/verify/{token}). Drives the SDK endpoints with
// the link's token (X-Capture-Token): consent, document type, front/back
// photo, selfie with the liveness challenge's steps, finalize. On a desktop
// it offers to continue on a phone (QR code of a fresh link) and follows
// the phone's progress. Loads nothing from any other origin.

import { chooseLanguage, t } from './strings.js';
import { hints as qualityHints, measure } from './quality.js';

const TOKEN = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const EMBEDDED = new URLSearchParams(location.search).has('embed') && window.parent !== window;
const LINK_STATE = document.querySelector('meta[name="tessera-link-state"]')?.content || 'unknown';
const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const progressList = document.getElementById('progress');
const handoffButton = document.getElementById('handoff-button');

const STEPS = ['consent', 'document_type', 'front', 'back', 'selfie'];
const STEP_LABELS = {
  consent: 'stepConsent', document_type: 'stepDocumentType', front: 'stepFront', back: 'stepBack', selfie: 'stepSelfie',
};
const LIVENESS_TEXT = {
  turn_left: 'livenessTurnLeft', turn_right: 'livenessTurnRight', look_up: 'livenessLookUp', smile: 'livenessSmile',
};

const page = {
  start: null,
  sessionId: null,
  documentType: null,
  position: null,
  stream: null,
  polling: null,
  frameOrigins: [],
  lastStep: null,
  interactive: false,
};

// ---------------------------------------------------------------- helpers

class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = Number(retryAfter) || 0;
  }
}

async function api(path, body, { form = false } = {}) {
  const headers = { 'X-Capture-Token': TOKEN };
  let payload;
  if (form) {
    payload = body;
  } else {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(`/api/v1/${path}`, { method: 'POST', headers, body: payload, credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new ApiError(0, { detail: t('errorNetwork') });
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data, response.headers.get('Retry-After'));
  return data;
}

/** Builds an element: h('p', {class: 'x'}, 'text', child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function say(text) {
  statusLine.textContent = text || '';
}

/** Replaces the screen; focus goes to its heading (screen readers announce it). */
function show(step, title, ...content) {
  stopCamera();
  const heading = h('h1', { tabindex: '-1', id: 'screen-title' }, title);
  main.replaceChildren(heading, ...content.flat().filter(Boolean));
  main.dataset.step = step;
  document.title = `${title} — ${t('title')}`;
  heading.focus();
  say('');
  renderProgress(step);
  if ((STEPS.includes(step) || step === 'finalize') && page.lastStep !== step) emit('step', { step });
  page.lastStep = step;
  // The first usable screen: what the time-to-interactive bench measures.
  if (!page.interactive) {
    page.interactive = true;
    performance.mark('tessera-capture-interactive');
  }
}

function renderProgress(step) {
  const steps = visibleSteps();
  const at = step === 'done' ? steps.length : steps.indexOf(step);
  progressList.setAttribute('aria-label', t('progressLabel'));
  progressList.replaceChildren(
    ...steps.map((s, i) => {
      const li = h('li', { class: i < at ? 'done' : i === at ? 'current' : '' }, h('span', { class: 'visually-hidden' }, t(STEP_LABELS[s])));
      if (i === at) li.setAttribute('aria-current', 'step');
      return li;
    }),
  );
  progressList.hidden = at < 0 && step !== 'done';
}

function visibleSteps() {
  return page.documentType === 'passport' ? STEPS.filter((s) => s !== 'back') : STEPS;
}

/** Tells the embedding page (web SDK) what happens; only origins the client allowed receive it. */
function emit(type, detail = {}) {
  if (!EMBEDDED) return;
  const message = { source: 'tessera-capture', type, session_id: page.sessionId, ...detail };
  for (const origin of page.frameOrigins) {
    try { window.parent.postMessage(message, origin); } catch { /* a malformed origin is skipped */ }
  }
}

function problemText(err) {
  return err instanceof ApiError ? err.message : t('errorNetwork');
}

function showError(err, retry) {
  emit('error', { code: err?.problem?.code || 'error', message: problemText(err) });
  show('error', t('errorTitle'), h('p', { role: 'alert' }, problemText(err)), retry && h('button', { type: 'button', onclick: retry }, t('errorRetry')));
}

// ---------------------------------------------------------------- start

async function boot() {
  document.documentElement.lang = chooseLanguage(navigator.languages || [navigator.language]);
  if (LINK_STATE !== 'open') {
    return showClosed(LINK_STATE);
  }
  try {
    page.start = await api('sdk/idv/capture/start');
  } catch (err) {
    if (err.status === 401) return showClosed(/expired/.test(err.message) ? 'expired' : /revoked/.test(err.message) ? 'revoked' : 'unknown');
    return showError(err, () => location.reload());
  }
  page.sessionId = page.start.session_id;
  page.frameOrigins = page.start.settings.frame_ancestors || [];
  page.documentType = page.start.progress.document_type_e !== 'unknown' ? page.start.progress.document_type_e : null;
  applyTheme(page.start.settings);
  emit('ready', {});
  if (page.start.state !== 'open' || page.start.progress.finished) return showClosed('finished');
  if (isDesktop() && !page.start.handoff && !EMBEDDED) {
    handoffButton.textContent = t('handoffOffer');
    handoffButton.hidden = false;
    handoffButton.addEventListener('click', () => startHandoff());
  }
  next(page.start.progress);
}

function showClosed(state) {
  const key = { expired: 'linkExpired', revoked: 'linkRevoked', finished: 'linkFinished' }[state] || 'linkUnknown';
  progressList.hidden = true;
  show('closed', t(`${key}Title`), h('p', { class: 'message' }, t(`${key}Text`)));
  main.dataset.linkState = state;
}

function applyTheme(s) {
  const root = document.documentElement.style;
  if (s.primary_color) root.setProperty('--primary', s.primary_color);
  if (s.background_color) root.setProperty('--bg', s.background_color);
  if (s.logo_data_url) {
    const logo = document.getElementById('logo');
    logo.src = s.logo_data_url;
    logo.hidden = false;
  }
}

function isDesktop() {
  const coarse = window.matchMedia && window.matchMedia('(pointer: coarse)').matches;
  return !coarse && !/Mobi|Android|iPhone|iPad/i.test(navigator.userAgent);
}

/** The next screen from the session's progress (also after a reload or a handoff). */
function next(progress) {
  if (progress.finished) return finalize();
  if (!progress.consented) return consentScreen();
  if (progress.document_type_e === 'unknown' || !page.documentType) {
    if (progress.document_type_e !== 'unknown') page.documentType = progress.document_type_e;
    else return documentTypeScreen();
  }
  if (!progress.document_front_given) return documentScreen('front');
  if (page.documentType !== 'passport' && !progress.document_back_given) return documentScreen('back');
  if (!progress.selfie_given) return selfieScreen();
  return finalize();
}

async function refresh() {
  const status = await api('sdk/idv/capture/status');
  return status;
}

async function advance() {
  try {
    const status = await refresh();
    next(status.progress);
  } catch (err) {
    showError(err, advance);
  }
}

// ---------------------------------------------------------------- consent

function consentScreen() {
  const text = page.start.settings.consent_text || t('consentDefault');
  const box = h('input', { type: 'checkbox', id: 'consent-check', 'aria-describedby': 'consent-text' });
  const error = h('p', { class: 'answer-bad', id: 'consent-error', role: 'alert' });
  const button = h('button', { type: 'submit', id: 'consent-continue' }, t('continue'));
  const form = h('form', {}, h('div', { class: 'consent-text', id: 'consent-text' }, text),
    h('div', { class: 'check' }, box, h('label', { for: 'consent-check' }, t('consentCheckbox'))), error, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!box.checked) {
      error.textContent = t('consentRequired');
      box.focus();
      return;
    }
    button.disabled = true;
    try {
      await api('sdk/idv/consent', { session_id: page.sessionId, consented: true });
      requestPosition();
      await advance();
    } catch (err) {
      showError(err, consentScreen);
    }
  });
  show('consent', t('consentTitle'), form);
}

/** Asks for the device position once (the API records it with each capture); a refusal is fine. */
function requestPosition() {
  if (!navigator.geolocation || page.position) return;
  navigator.geolocation.getCurrentPosition(
    (p) => { page.position = { latitude: p.coords.latitude, longitude: p.coords.longitude }; },
    () => {},
    { timeout: 8000, maximumAge: 600000 },
  );
}

// ---------------------------------------------------------------- document type

function documentTypeScreen() {
  const choices = [
    ['driver_license', 'docDriverLicense'],
    ['identification_card', 'docIdentificationCard'],
    ['passport', 'docPassport'],
  ];
  const fieldset = h('fieldset', {}, h('legend', { class: 'muted' }, t('documentTypeHint')),
    choices.map(([value, key], i) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name: 'document_type', value, id: `doc-${value}`, checked: i === 0 }), t(key))));
  const button = h('button', { type: 'submit', id: 'document-type-continue' }, t('continue'));
  const form = h('form', {}, fieldset, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = form.querySelector('input[name=document_type]:checked')?.value || 'driver_license';
    button.disabled = true;
    try {
      await api('sdk/idv/document/type', { session_id: page.sessionId, document_type_e: value });
      page.documentType = value;
      await advance();
    } catch (err) {
      showError(err, documentTypeScreen);
    }
  });
  show('document_type', t('documentTypeTitle'), form);
}

// ---------------------------------------------------------------- camera

async function startCamera(video, facingMode) {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('no camera API');
  const constraints = facingMode === 'user'
    ? { video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false }
    : { video: { facingMode: { ideal: 'environment' }, width: { ideal: 1920 }, height: { ideal: 1080 } }, audio: false };
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  page.stream = stream;
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  await new Promise((resolve) => {
    if (video.readyState >= 1 && video.videoWidth) resolve();
    else video.addEventListener('loadedmetadata', resolve, { once: true });
  });
  await video.play().catch(() => {});
  // Wait for a real frame (the first may be black).
  for (let i = 0; i < 30 && (video.readyState < 2 || !video.videoWidth); i++) await sleep(50);
  await sleep(250);
  return stream;
}

function stopCamera() {
  if (page.stream) {
    for (const track of page.stream.getTracks()) track.stop();
    page.stream = null;
  }
}

/** The pixels of the video inside `region` (fractions of the frame), at most `maxWidth` wide. */
function grab(video, region = { x: 0, y: 0, w: 1, h: 1 }, maxWidth = 1600) {
  const vw = video.videoWidth;
  const vh = video.videoHeight;
  const sx = Math.round(region.x * vw);
  const sy = Math.round(region.y * vh);
  const sw = Math.round(region.w * vw);
  const sh = Math.round(region.h * vh);
  const scale = Math.min(1, maxWidth / sw);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(sw * scale);
  canvas.height = Math.round(sh * scale);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/** The card guide in frame fractions: 86 % of the width, ID-1 proportions, centred. */
function cardRegion(video) {
  const w = 0.86;
  const hPx = (w * video.videoWidth) / (85.6 / 54);
  const hFrac = Math.min(0.96, hPx / video.videoHeight);
  // A little margin around the guide so the card's edges stay in the photo.
  const mx = 0.03;
  const my = 0.03;
  return { x: Math.max(0, 0.07 - mx), y: Math.max(0, (1 - hFrac) / 2 - my), w: Math.min(1, w + 2 * mx), h: Math.min(1, hFrac + 2 * my) };
}

const toBlob = (canvas, quality = 0.92) => new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));

// ---------------------------------------------------------------- document sides

function documentScreen(side) {
  const passport = page.documentType === 'passport';
  const title = side === 'back' ? t('backTitle') : passport ? t('passportTitle') : t('frontTitle');
  const video = h('video', { autoplay: true, muted: true, playsinline: true, 'aria-hidden': 'true' });
  const guide = h('div', { class: 'guide card', 'aria-hidden': 'true' });
  const camera = h('div', { class: 'camera', id: 'camera' }, video, guide);
  const shoot = h('button', { type: 'button', id: 'take-photo', disabled: true }, t('takePhoto'));
  const file = h('input', { type: 'file', id: 'file-input', accept: 'image/jpeg,image/png' });
  const fallback = h('div', { class: 'file-fallback' }, h('label', { for: 'file-input' }, t('uploadInstead')), file);
  const guideText = h('p', { class: 'muted', id: 'guide-text' }, side === 'back' ? t('backGuide') : t('cardGuide'));
  show(side, title, guideText, camera, shoot, fallback);
  say(t('cameraStarting'));

  startCamera(video, 'environment')
    .then(() => {
      camera.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
      shoot.disabled = false;
      say('');
    })
    .catch(() => {
      camera.hidden = true;
      shoot.hidden = true;
      say(t('cameraUnavailable'));
      file.focus();
    });

  shoot.addEventListener('click', async () => {
    const canvas = grab(video, cardRegion(video));
    stopCamera();
    review(side, canvas, qualityHints(measure(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height))));
  });
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    stopCamera();
    const canvas = await fileToCanvas(chosen).catch(() => null);
    if (!canvas) {
      // Not decodable here: let the server judge the original bytes.
      return upload(side, chosen);
    }
    review(side, canvas, qualityHints(measure(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height))), chosen);
  });
}

async function fileToCanvas(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 2400 / bitmap.width);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d', { willReadFrequently: true }).drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/** Shows the photo with the client-side hints; the user retakes or sends it. */
function review(side, canvas, hintKeys, original = null) {
  const img = h('img', { class: 'preview', alt: '', src: canvas.toDataURL('image/jpeg', 0.8) });
  const hintBox = hintKeys.length
    ? h('div', { class: 'hints', role: 'alert', id: 'quality-hints' }, h('strong', {}, t('hintsTitle')),
      h('ul', {}, hintKeys.map((k) => h('li', { 'data-hint': k }, t(k)))))
    : null;
  const send = h('button', { type: 'button', id: 'use-photo', class: hintKeys.length ? 'secondary' : '' },
    hintKeys.length ? t('useAnyway') : t('usePhoto'));
  const retake = h('button', { type: 'button', id: 'retake', class: hintKeys.length ? '' : 'secondary' }, t('retake'));
  send.addEventListener('click', async () => upload(side, original || (await toBlob(canvas))));
  retake.addEventListener('click', () => documentScreen(side));
  const title = main.querySelector('h1')?.textContent || '';
  show(side, title, img, hintBox, hintKeys.length ? [retake, send] : [send, retake]);
  if (hintKeys.length) retake.focus();
}

async function upload(side, blob) {
  const title = main.querySelector('h1')?.textContent || '';
  show(side, title, h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', { class: 'message' }, t('uploading')));
  say(t('uploading'));
  const form = new FormData();
  form.append('session_id', page.sessionId);
  if (page.position) {
    form.append('latitude', String(page.position.latitude));
    form.append('longitude', String(page.position.longitude));
  }
  form.append('image', blob, side === 'back' ? 'back.jpg' : 'front.jpg');
  try {
    await api(`sdk/idv/document/${side}`, form, { form: true });
  } catch (err) {
    // The server's own words (422 unreadable image, 413 too large, ...), then try again.
    const retry = h('button', { type: 'button', id: 'retake' }, t('retake'));
    retry.addEventListener('click', () => documentScreen(side));
    show(side, title, h('p', { class: 'answer-bad', role: 'alert', id: 'server-answer' }, problemText(err)), retry);
    return;
  }
  await serverAnswer(side, title);
}

/** Waits (briefly) for the analysis of the upload and tells the user what it read. */
async function serverAnswer(side, title) {
  say(t('analysing'));
  show(side, title, h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', { class: 'message' }, t('analysing')));
  let verdict = 'analysing';
  let status = null;
  for (let i = 0; i < 40 && verdict === 'analysing'; i++) {
    await sleep(i === 0 ? 300 : 750);
    try {
      status = await refresh();
      verdict = status.documents[side];
    } catch {
      break;
    }
  }
  const passport = page.documentType === 'passport';
  if (verdict === 'unreadable') {
    const text = side === 'back' ? t('unreadableBack') : passport ? t('unreadablePassport') : t('unreadableFront');
    const retake = h('button', { type: 'button', id: 'retake' }, t('retake'));
    const go = h('button', { type: 'button', class: 'secondary', id: 'continue-anyway' }, t('continue'));
    retake.addEventListener('click', () => documentScreen(side));
    go.addEventListener('click', () => next(status.progress));
    show(side, title, h('p', { class: 'answer-bad', role: 'alert', id: 'server-answer', 'data-answer': 'unreadable' }, text), retake, go);
    retake.focus();
    return;
  }
  const text = verdict === 'read' ? (side === 'back' ? t('readBack') : t('readFront')) : t('uploaded');
  say(text);
  if (status) next(status.progress);
  else advance();
}

// ---------------------------------------------------------------- selfie and liveness

function challengeSteps(token) {
  try {
    const body = token.split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(body + '='.repeat((4 - (body.length % 4)) % 4)));
    return Array.isArray(json.steps) ? json.steps : [];
  } catch {
    return [];
  }
}

function positionBody() {
  return page.position ? { latitude: page.position.latitude, longitude: page.position.longitude } : {};
}

function selfieScreen() {
  const start = h('button', { type: 'button', id: 'selfie-start' }, t('start'));
  start.addEventListener('click', () => liveness());
  show('selfie', t('selfieTitle'), h('p', {}, t('selfieIntro')), start);
}

async function liveness() {
  let token;
  try {
    token = (await api('sdk/idv/liveness/generate', { session_id: page.sessionId, ...positionBody() })).token;
  } catch (err) {
    return showError(err, selfieScreen);
  }
  const steps = ['look', ...challengeSteps(token)];
  const video = h('video', { autoplay: true, muted: true, playsinline: true, class: 'mirror', 'aria-hidden': 'true' });
  const instruction = h('p', { class: 'instruction', id: 'liveness-instruction', 'aria-live': 'assertive' });
  const camera = h('div', { class: 'camera', id: 'camera' }, video, h('div', { class: 'guide oval', 'aria-hidden': 'true' }), instruction);
  const counter = h('p', { class: 'muted', id: 'liveness-counter' });
  show('selfie', t('selfieTitle'), counter, camera);
  say(t('cameraStarting'));
  try {
    await startCamera(video, 'user');
    camera.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  } catch {
    return showError(new ApiError(0, { detail: t('cameraUnavailable') }), selfieScreen);
  }
  say('');
  const frames = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    counter.textContent = t('livenessStep', { n: i + 1, total: steps.length });
    instruction.textContent = step === 'look' ? t('livenessLook') : t(LIVENESS_TEXT[step] || 'livenessLook');
    instruction.dataset.step = step;
    say(instruction.textContent);
    for (let n = 3; n > 0; n--) {
      counter.textContent = `${t('livenessStep', { n: i + 1, total: steps.length })} — ${t('livenessCountdown', { n })}`;
      await sleep(700);
    }
    frames.push(grab(video, undefined, 1280).toDataURL('image/jpeg', 0.92));
  }
  stopCamera();
  show('selfie', t('selfieTitle'), h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', { class: 'message' }, t('sendingSelfie')));
  say(t('sendingSelfie'));
  try {
    await api('sdk/idv/liveness/process', { session_id: page.sessionId, token, images: frames, ...positionBody() });
  } catch (err) {
    return showError(err, selfieScreen);
  }
  await advance();
}

// ---------------------------------------------------------------- finalize and done

async function finalize() {
  show('finalize', t('finalizing'), h('div', { class: 'spinner', 'aria-hidden': 'true' }));
  say(t('finalizing'));
  for (let attempt = 0; attempt < 60; attempt++) {
    try {
      await api('sdk/idv/finalize', { session_id: page.sessionId });
      return done();
    } catch (err) {
      if (err.status === 503) {
        say(t('errorBusy'));
        await sleep(Math.min(10, Math.max(1, err.retryAfter || 2)) * 1000);
        continue;
      }
      if (err.status === 409 && /already finalized/.test(err.message)) return done();
      return showError(err, finalize);
    }
  }
  return showError(new ApiError(503, { detail: t('errorBusy') }), finalize);
}

function done() {
  handoffButton.hidden = true;
  const redirect = page.start?.redirect_url;
  const content = [h('p', { class: 'message', id: 'done-text' }, t('doneText'))];
  if (redirect && !EMBEDDED) {
    content.push(h('a', { class: 'button', href: withSession(redirect), id: 'return-link' }, t('doneReturn')));
  }
  show('done', t('doneTitle'), ...content);
  emit('complete', {});
  if (redirect && !EMBEDDED) {
    say(t('doneRedirect'));
    setTimeout(() => location.assign(withSession(redirect)), 2500);
  }
}

function withSession(url) {
  const u = new URL(url);
  u.searchParams.set('session_id', page.sessionId);
  return u.toString();
}

// ---------------------------------------------------------------- desktop → phone handoff

async function startHandoff() {
  let handoff;
  try {
    handoff = await api('sdk/idv/capture/handoff');
  } catch (err) {
    return showError(err, startHandoff);
  }
  const qr = h('img', { class: 'qr', id: 'handoff-qr', alt: t('handoffQrAlt'), src: `data:image/svg+xml;base64,${btoa(handoff.qr_svg)}` });
  const link = h('details', {}, h('summary', {}, t('handoffShowLink')), h('p', { class: 'handoff-url', id: 'handoff-url' }, handoff.capture_url));
  const live = h('ul', { class: 'steps-live', id: 'handoff-steps', 'aria-live': 'polite' });
  const stay = h('button', { type: 'button', class: 'secondary', id: 'handoff-stay' }, t('handoffStay'));
  stay.addEventListener('click', () => {
    stopPolling();
    advance();
  });
  show('handoff', t('handoffTitle'), h('p', {}, t('handoffText')), qr, link, h('p', { class: 'muted' }, t('handoffOn')), live, stay);
  handoffButton.hidden = true;
  say(t('handoffWaiting'));
  const render = (p) => {
    const items = [
      ['consent', p.consented],
      ['document_type', p.document_type_e !== 'unknown'],
      ['front', p.document_front_given],
      ...(p.document_type_e === 'passport' ? [] : [['back', p.document_back_given]]),
      ['selfie', p.selfie_given],
    ];
    live.replaceChildren(...items.map(([s, ok]) => h('li', { class: ok ? 'done' : '', 'data-step': s }, t(STEP_LABELS[s]))));
  };
  stopPolling();
  const poll = async () => {
    try {
      const status = await refresh();
      render(status.progress);
      if (status.progress.finished) {
        stopPolling();
        say(t('handoffDone'));
        return done();
      }
    } catch {
      /* keep polling: a phone may be on a slow network */
    }
    page.polling = setTimeout(poll, 1500);
  };
  poll();
}

function stopPolling() {
  if (page.polling) clearTimeout(page.polling);
  page.polling = null;
}

boot();
