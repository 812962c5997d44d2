import type {EdgePorts} from '../../edge/index.js';
import type {OnboardingNote} from '../family.js';
import {REST_LISTENER} from './on-edge.js';

/**
 * Home Assistant's own Ecovacs integration in self-hosted mode (its "Advanced" mode) talks to the
 * bridge as it would to Bumper: REST on the plain port, MQTT on the edge's TLS port, whose
 * certificate it cannot verify (our CA is not in its trust store). The ports are the ones bound,
 * which differ from the settings when a privileged port was refused and its fallback taken.
 */
export function homeAssistantSelfHostedNotes(_section: unknown, {ports, address}: {ports: EdgePorts; address: string}): OnboardingNote[] {
    const notes: OnboardingNote[] = [];
    const restPort = ports.http[REST_LISTENER];
    if (restPort !== undefined) notes.push({label: 'onboarding.note.ecovacs.restUrl', value: `http://${address}:${restPort}`});
    if (ports.mqttTls !== null) notes.push({label: 'onboarding.note.ecovacs.mqttUrl', value: `mqtts://${address}:${ports.mqttTls}`});
    notes.push({label: 'onboarding.note.ecovacs.verifyMqttCertificate', value: false});
    return notes;
}
