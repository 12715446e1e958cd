/**
 * Tessera web SDK: shows Tessera's hosted capture page inside your page,
 * inline (an iframe in a container of yours) or as a modal dialog, and
 * reports what the user does through events.
 *
 *   import { TesseraCapture } from 'https://tessera.example/sdk/tessera-capture.js';
 *   // captureUrl: from your backend (session create with `capture_link`).
 *   const capture = TesseraCapture.open(captureUrl);            // modal
 *   // or: TesseraCapture.mount(document.querySelector('#kyc'), captureUrl);
 *   capture.on('complete', ({ session_id }) => { ... });        // ready, step, complete, error, close
 *
 * The page is served by your Tessera server; the SDK makes no request of
 * its own and loads nothing from anywhere else. Allow your page's origin in
 * the capture settings (`frame_ancestors`) so the page may be framed.
 */

const EVENTS = ['ready', 'step', 'complete', 'error', 'close'];

export class TesseraCapture {
  /** @param {string} captureUrl the `capture_url` of a capture link */
  constructor(captureUrl) {
    const url = new URL(captureUrl, window.location.href);
    url.searchParams.set('embed', '1');
    this.url = url;
    this.origin = url.origin;
    this.listeners = new Map(EVENTS.map((e) => [e, new Set()]));
    this.iframe = null;
    this.dialog = null;
    this.onMessage = this.onMessage.bind(this);
  }

  /** Embeds the page inline in `container`. */
  static mount(container, captureUrl, options = {}) {
    const capture = new TesseraCapture(captureUrl);
    capture.attach(container, options);
    return capture;
  }

  /** Opens the page in a modal dialog over the current page. */
  static open(captureUrl, options = {}) {
    const capture = new TesseraCapture(captureUrl);
    const dialog = document.createElement('dialog');
    dialog.className = 'tessera-capture-dialog';
    dialog.setAttribute('aria-label', options.title || 'Identity verification');
    Object.assign(dialog.style, {
      padding: '0', border: '0', width: 'min(480px, 100vw)', height: 'min(820px, 100vh)',
      maxWidth: '100vw', maxHeight: '100vh', borderRadius: '12px', overflow: 'hidden',
    });
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = '×';
    close.setAttribute('aria-label', options.closeLabel || 'Close');
    Object.assign(close.style, {
      position: 'absolute', top: '6px', right: '8px', font: '24px/1 system-ui, sans-serif',
      background: 'transparent', border: '0', cursor: 'pointer', zIndex: '1',
    });
    close.addEventListener('click', () => capture.close());
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); capture.close(); });
    dialog.append(close);
    document.body.append(dialog);
    capture.dialog = dialog;
    capture.attach(dialog, options);
    dialog.showModal();
    return capture;
  }

  attach(container, options = {}) {
    const iframe = document.createElement('iframe');
    iframe.src = this.url.toString();
    iframe.title = options.title || 'Identity verification';
    iframe.allow = 'camera; geolocation';
    iframe.referrerPolicy = 'no-referrer';
    Object.assign(iframe.style, { border: '0', width: '100%', height: options.height || '100%', minHeight: '560px', display: 'block' });
    window.addEventListener('message', this.onMessage);
    container.append(iframe);
    this.iframe = iframe;
    this.container = container;
  }

  onMessage(event) {
    if (event.origin !== this.origin || !this.iframe || event.source !== this.iframe.contentWindow) return;
    const data = event.data;
    if (!data || data.source !== 'tessera-capture' || !this.listeners.has(data.type)) return;
    this.emit(data.type, data);
  }

  emit(type, detail) {
    for (const fn of this.listeners.get(type)) {
      try { fn(detail); } catch (e) { setTimeout(() => { throw e; }); }
    }
    this.container?.dispatchEvent(new CustomEvent(`tessera:${type}`, { detail, bubbles: true }));
  }

  /** Subscribes to `ready`, `step`, `complete`, `error` or `close`; returns an unsubscribe function. */
  on(type, fn) {
    if (!this.listeners.has(type)) throw new Error(`unknown event ${type}; one of ${EVENTS.join(', ')}`);
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  /** Removes the page (and the dialog of `open`). */
  close() {
    window.removeEventListener('message', this.onMessage);
    this.iframe?.remove();
    this.iframe = null;
    if (this.dialog) {
      this.dialog.close();
      this.dialog.remove();
      this.dialog = null;
    }
    this.emit('close', { source: 'tessera-capture', type: 'close' });
  }
}

export default TesseraCapture;
