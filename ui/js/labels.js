// Human labels of the names the API uses, in one place: every page that
// shows a check, a reason or an image kind reads them from here.

import { humanize } from './dom.js';

/// Checks a session can record (`checkName`), and the verdict's `score`.
export const CHECK_LABELS = {
  doc_front_suspicious_words: 'Front: suspicious words',
  doc_front_image_manipulation: 'Front: image manipulation',
  doc_front_online_duplication: 'Front: found online',
  doc_front_is_identity_document: 'Front is an identity document',
  doc_back_suspicious_words: 'Back: suspicious words',
  doc_back_image_manipulation: 'Back: image manipulation',
  doc_back_online_duplication: 'Back: found online',
  doc_back_is_identity_document: 'Back is an identity document',
  document_number_crosscheck: 'Document number matches the barcode / MRZ',
  name_crosscheck: 'Name matches the barcode / MRZ',
  address_crosscheck: 'Address matches the barcode',
  expiry_crosscheck: 'Expiry date matches the barcode / MRZ',
  birth_date_crosscheck: 'Birth date matches the barcode / MRZ',
  face_match: 'Selfie matches the document photo',
  liveness: 'Liveness',
  ofac: 'Sanctions lists',
  pep: 'Politically exposed person',
  dmv: 'DMV',
  age: 'Age',
  gender: 'Gender',
  requirements: 'Required fields present',
  duplicate_face: 'Face already used by another identity',
  document_expiry: 'Document not expired',
  document_issue_date: 'Issue date not in the future',
  document_date_order: 'Issued before it expires',
  birth_date_plausibility: 'Plausible birth date',
  score: 'Overall score',
  manual: 'Flagged by a person',
};

/// The label of a check name; unknown names (a newer server) read as words.
export function checkLabel(name) {
  const label = CHECK_LABELS[name];
  if (label) return label;
  const words = humanize(name);
  return words.charAt(0).toUpperCase() + words.slice(1);
}
