import type {EdgeSettings} from '../../config/schema.js';
import type {OnboardingNote} from '../family.js';
import type {EcovacsSettings} from './settings.js';

/**
 * Home Assistant's own Ecovacs integration in self-hosted mode (its "Advanced" mode) talks to the
 * bridge as it would to Bumper: REST on the plain port, MQTT on the edge's TLS port, whose
 * certificate it cannot verify (our CA is not in its trust store).
 */
export function homeAssistantSelfHostedNotes(section: EcovacsSettings, {edge, address}: {edge: EdgeSettings; address: string}): OnboardingNote[] {
    const notes: OnboardingNote[] = [];
    if (section.restPort !== null) notes.push({label: 'onboarding.note.ecovacs.restUrl', value: `http://${address}:${section.restPort}`});
    if (edge.mqttTlsPort !== null) notes.push({label: 'onboarding.note.ecovacs.mqttUrl', value: `mqtts://${address}:${edge.mqttTlsPort}`});
    notes.push({label: 'onboarding.note.ecovacs.verifyMqttCertificate', value: false});
    return notes;
}
