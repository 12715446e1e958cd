// Every text the capture page shows, in one place for translation. Add a
// language as another key of STRINGS (same keys); the page picks the
// browser's language when present, else English. `{name}` is replaced.

export const STRINGS = {
  en: {
    title: 'Verify your identity',
    loading: 'Loading…',
    stepConsent: 'Consent',
    stepDocumentType: 'Document',
    stepFront: 'Front',
    stepBack: 'Back',
    stepSelfie: 'Selfie',
    stepDone: 'Done',
    progressLabel: 'Progress',
    progressStep: 'Step {n} of {total}: {name}',

    consentTitle: 'Before we start',
    consentDefault: 'To verify your identity we will take photos of your identity document and of your face, and compare them. The photos and the data read from them are used only for this verification.',
    consentCheckbox: 'I agree that my document and face are photographed and checked to verify my identity.',
    consentRequired: 'Please tick the box to continue.',
    continue: 'Continue',

    documentTypeTitle: 'Which document will you use?',
    documentTypeHint: 'Choose the document you have at hand.',
    docDriverLicense: 'Driver’s license',
    docIdentificationCard: 'Identity card',
    docPassport: 'Passport',
    docPassportCard: 'Passport card',

    frontTitle: 'Photograph the front of your document',
    backTitle: 'Photograph the back of your document',
    passportTitle: 'Photograph the photo page of your passport',
    cardGuide: 'Place the document inside the frame, flat and well lit.',
    backGuide: 'Make sure the barcode is sharp and fully inside the frame.',
    takePhoto: 'Take photo',
    retake: 'Retake',
    useAnyway: 'Use this photo anyway',
    usePhoto: 'Use this photo',
    uploadInstead: 'Upload a photo instead',
    chooseFile: 'Choose a photo',
    cameraStarting: 'Starting the camera…',
    cameraUnavailable: 'We could not use your camera. You can upload a photo of your document instead.',
    checkingPhoto: 'Checking your photo…',
    uploading: 'Sending your photo…',
    analysing: 'Reading your document…',
    uploaded: 'Photo received.',
    readFront: 'We could read your document.',
    readBack: 'We could read the barcode.',
    unreadableFront: 'We could not read the text of your document — hold it closer, keep it flat and avoid reflections.',
    unreadableBack: 'We could not read the barcode — hold it closer and make sure it is sharp.',
    unreadablePassport: 'We could not read the lines at the bottom of the photo page — hold it closer and keep it flat.',

    hintDark: 'The photo is too dark — move to a brighter place.',
    hintBlurry: 'The photo is blurry — hold still and let the camera focus.',
    hintGlare: 'There is glare on the document — tilt it slightly away from the light.',
    hintSmall: 'The document is too small — move it closer so it fills the frame.',
    hintsTitle: 'This photo may not work:',

    selfieTitle: 'Take a selfie',
    selfieIntro: 'We will take a few pictures of your face. Remove glasses or a hat if you can, and keep your face inside the oval.',
    start: 'Start',
    livenessLook: 'Look straight at the camera',
    livenessTurnLeft: 'Turn your head slightly to the left',
    livenessTurnRight: 'Turn your head slightly to the right',
    livenessLookUp: 'Tilt your head slightly up',
    livenessSmile: 'Smile',
    livenessCountdown: 'Hold still… {n}',
    livenessStep: 'Picture {n} of {total}',
    sendingSelfie: 'Sending your pictures…',

    finalizing: 'Finishing your verification…',
    doneTitle: 'Thank you',
    doneText: 'Your verification has been submitted. You can close this page.',
    doneReturn: 'Return',
    doneRedirect: 'Taking you back…',

    handoffOffer: 'Continue on your phone',
    handoffTitle: 'Continue on your phone',
    handoffText: 'Scan this code with your phone’s camera and follow the steps there. This page follows your progress.',
    handoffQrAlt: 'QR code of a link to continue on your phone',
    handoffShowLink: 'Can’t scan the code? Show the link',
    handoffStay: 'Continue on this computer instead',
    handoffWaiting: 'Waiting for your phone…',
    handoffDone: 'Your phone finished the verification.',
    handoffOn: 'Done on your phone:',

    linkExpiredTitle: 'This link has expired',
    linkExpiredText: 'For your security, verification links work only for a short time. Please ask for a new link.',
    linkRevokedTitle: 'This link is no longer valid',
    linkRevokedText: 'The link was withdrawn. Please ask for a new link.',
    linkFinishedTitle: 'This verification is finished',
    linkFinishedText: 'There is nothing more to do here. You can close this page.',
    linkUnknownTitle: 'This link is not valid',
    linkUnknownText: 'Please check that you opened the whole link, or ask for a new one.',

    errorTitle: 'Something went wrong',
    errorRetry: 'Try again',
    errorNetwork: 'We could not reach the server. Check your connection and try again.',
    errorBusy: 'Still working on it…',
  },
};

let active = STRINGS.en;

/** Picks the first of the browser's languages we have. */
export function chooseLanguage(languages) {
  for (const lang of languages || []) {
    const base = String(lang).toLowerCase().split('-')[0];
    if (STRINGS[base]) {
      active = STRINGS[base];
      return base;
    }
  }
  active = STRINGS.en;
  return 'en';
}

/** The text of `key`, with `{name}` placeholders replaced. */
export function t(key, vars = {}) {
  const text = active[key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}
