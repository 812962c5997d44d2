import {type OnboardingAction, SetupRefused} from '../../core/setup.js';
import {approveSelfClaim, describeApproval, normaliseMac} from './claim.js';
import type {RainmakerSettings} from './settings.js';

/** `7C:DF:A1:B2:C3:D4`: the longest MAC form normaliseMac reads. */
const MAC_MAX_LENGTH = 17;

/** What `fogbridge rainmaker approve --mac` does, from the onboarding page. */
export function approveMacAction(section: RainmakerSettings, {dataDir}: {dataDir: string}): OnboardingAction {
    return {
        id: 'approveMac',
        fields: [{id: 'mac', secret: false, maxLength: MAC_MAX_LENGTH}],
        async run({mac}) {
            if (section.claimPort === null) throw new SetupRefused('the self-claim service is off (rainmaker.claimPort is null): give it a port, or claim the node with "fogbridge rainmaker claim"');
            try {
                normaliseMac(mac!);
            } catch (error) {
                throw new SetupRefused((error as Error).message);
            }
            return describeApproval(await approveSelfClaim(dataDir, mac!));
        },
    };
}
