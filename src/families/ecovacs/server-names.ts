/**
 * The names Ecovacs bots and apps ask for (ecovacs.md §1.1, §4.2, Appendix A): what the server
 * certificate must carry and what the user's DNS must send to the bridge.
 */
import type {CloudRedirects} from '../family.js';

/**
 * Bumper's 2026 list (Appendix A): a wildcard covers one label only, so there is one for every
 * intermediate label of every known host. Then what that list lacks: `ecovacs.net` (2019 list),
 * the Chinese-market `.cn` names, and `ecouser.com` (Bumper's DNS docs).
 */
export const ECOVACS_CERTIFICATE_NAMES: readonly string[] = [
    // First: the common name, when no family before Ecovacs names one.
    '*.ecouser.net', 'ecouser.net', 'ecovacs.com', 'aliyun.com', 'aliyuncs.com', '*.a1zYhiMF5J3.iot-as-mqtt.cn-shanghai.aliyuncs.com', '*.aliyun.com',
    '*.aliyuncs.com', '*.api-app.dc-eu.ww.ecouser.net', '*.api-app.ww.ecouser.net', '*.api-base.dc-eu.ww.ecouser.net',
    '*.api-ngiot.dc-eu.ww.ecouser.net', '*.api.link.aliyun.com', '*.app.cn.ecouser.net', '*.app.ww.ecouser.net', '*.area.cn.ecouser.net',
    '*.area.robotcn.ecouser.net', '*.area.robotww.ecouser.net', '*.area.ww.ecouser.net', '*.as.dc.ww.ecouser.net', '*.autodiscover.ecovacs.com',
    '*.base.cn.ecouser.net', '*.base.ww.ecouser.net', '*.bizcn.ecouser.net', '*.bizww.ecouser.net', '*.ca.robotcn.ecouser.net',
    '*.ca.robotww.ecouser.net', '*.cfjump.ecovacs.com', '*.checkout-au.ecovacs.com', '*.checkout-test.ecovacs.com', '*.checkout-uk.ecovacs.com',
    '*.cloud-ui.dc-as.cloud.ww.ecouser.net', '*.cloud-ui.dc-cn.cloud.cn.ecouser.net', '*.cloud-ui.dc-eu.cloud.ww.ecouser.net',
    '*.cloud-ui.dc-na.cloud.ww.ecouser.net', '*.cloud.cn.ecouser.net', '*.cloud.ww.ecouser.net', '*.cn-shanghai.aliyuncs.com',
    '*.cn.dc.cn.ecouser.net', '*.cn.ecouser.net', '*.codepush-base.dc-na.ww.ecouser.net', '*.comingsoon.ecovacs.com', '*.czjquw.ecovacs.com',
    '*.dc-as.app.ww.ecouser.net', '*.dc-as.base.ww.ecouser.net', '*.dc-as.bizww.ecouser.net', '*.dc-as.cloud.ww.ecouser.net',
    '*.dc-as.ngiot.ww.ecouser.net', '*.dc-as.rapp.ww.ecouser.net', '*.dc-as.rop.ww.ecouser.net', '*.dc-as.ww.ecouser.net', '*.dc-aus.ww.ecouser.net',
    '*.dc-cn.app.cn.ecouser.net', '*.dc-cn.base.cn.ecouser.net', '*.dc-cn.bizcn.ecouser.net', '*.dc-cn.cloud.cn.ecouser.net',
    '*.dc-cn.cn.ecouser.net', '*.dc-cn.ngiot.cn.ecouser.net', '*.dc-cn.rapp.cn.ecouser.net', '*.dc-cn.rop.cn.ecouser.net',
    '*.dc-eu.app.ww.ecouser.net', '*.dc-eu.base.ww.ecouser.net', '*.dc-eu.bizww.ecouser.net', '*.dc-eu.cloud.ww.ecouser.net',
    '*.dc-eu.ngiot.ww.ecouser.net', '*.dc-eu.rapp.ww.ecouser.net', '*.dc-eu.rop.ww.ecouser.net', '*.dc-eu.ww.ecouser.net', '*.dc-hq.cn.ecouser.net',
    '*.dc-hq.devhq.ecouser.net', '*.dc-na.app.ww.ecouser.net', '*.dc-na.base.ww.ecouser.net', '*.dc-na.bizww.ecouser.net',
    '*.dc-na.cloud.ww.ecouser.net', '*.dc-na.ngiot.ww.ecouser.net', '*.dc-na.rapp.ww.ecouser.net', '*.dc-na.rop.ww.ecouser.net',
    '*.dc-na.ww.ecouser.net', '*.dc.cn.ecouser.net', '*.dc.ecouser.net', '*.dc.robotcn.ecouser.net', '*.dc.robotww.ecouser.net',
    '*.dc.ww.ecouser.net', '*.dev.ecouser.net', '*.devhq.ecouser.net', '*.dl.ecouser.net', '*.ecovacs.com',
    '*.eis-nlp.dc-eu.ww.ecouser.net', '*.eml.ecovacs.com', '*.eu-central-1.aliyuncs.com', '*.eu.dc.ww.ecouser.net', '*.exchange.ecovacs.com',
    '*.gl-de-api.ecovacs.com', '*.gl-de-openapi.ecovacs.com', '*.gl-us-pub.ecovacs.com', '*.iot-as-mqtt.cn-shanghai.aliyuncs.com',
    '*.itls.eu-central-1.aliyuncs.com', '*.jmq-ngiot-eu.dc.robotww.ecouser.net', '*.lb.ecouser.net', '*.lbo.ecouser.net', '*.link.aliyun.com',
    '*.mail.ecovacs.com', '*.mpush-api.aliyun.com', '*.msg-eu.ecouser.net', '*.na.dc.ww.ecouser.net', '*.ngiot.cn.ecouser.net',
    '*.ngiot.ww.ecouser.net', '*.openaccount.aliyun.com', '*.parts-apac.ecovacs.com', '*.portal-ww-qa.ecouser.net', '*.portal-ww-qa1.ecouser.net',
    '*.portal-ww.ecouser.net', '*.qdbdrg.ecovacs.com', '*.rapp.cn.ecouser.net', '*.rapp.ww.ecouser.net', '*.recommender.ecovacs.com',
    '*.robotcn.ecouser.net', '*.robotww.ecouser.net', '*.rop.cn.ecouser.net', '*.rop.ww.ecouser.net', '*.sa-eu-datasink.ecovacs.com',
    '*.sdk.openaccount.aliyun.com', '*.site-static.ecovacs.com', '*.store-de.ecovacs.com', '*.store-fr.ecovacs.com', '*.store-it.ecovacs.com',
    '*.store-jp.ecovacs.com', '*.store-uk.ecovacs.com', '*.storehk.ecovacs.com', '*.storesg.ecovacs.com', '*.users-base.dc-eu.ww.ecouser.net',
    '*.usshop.ecovacs.com', '*.vpn.ecovacs.com', '*.ww.ecouser.net', '*.www.ecouser.net', '*.www.eml.ecovacs.com', 'ecovacs.net', '*.ecovacs.net',
    'ecovacs.cn', '*.ecovacs.cn', '*.gl-cn-api.ecovacs.cn', 'ecouser.com', '*.ecouser.com',];

/** Host names that speak MQTT on the shared TLS port (§1.1, §2.6); the rest of these domains speak HTTPS. */
export const ECOVACS_MQTT_SERVER_NAMES: readonly string[] = ['mq.ecouser.net', 'mq-*.ecouser.net', 'jmq-ngiot-*.ecouser.net'];

/** Every Ecovacs name resolves to the bridge (§4.3); the hosts are those known, for DNS servers that need exact names. */
export function ecovacsRedirects(): CloudRedirects {
    return {
        names: [
            {
                domain: 'ecouser.net',
                hosts: [
                    'portal-ww.ecouser.net',
                    'portal-eu.ecouser.net',
                    'api-app.dc-eu.ww.ecouser.net',
                    'users-base.dc-eu.ww.ecouser.net',
                    'mq-ww.ecouser.net',
                    'mq-eu.ecouser.net',
                    'jmq-ngiot-eu.dc.ww.ecouser.net',
                    'jmq-ngiot-eu.area.ww.ecouser.net',
                    'msg-eu.ecouser.net',
                    'lbo.ecouser.net',
                ],
            },
            {domain: 'ecovacs.com', hosts: ['gl-de-api.ecovacs.com', 'gl-de-openapi.ecovacs.com', 'eco-de-api.ecovacs.com']},
            {domain: 'ecovacs.net', hosts: ['lbo.ecovacs.net']},
        ],
        fixedAddresses: [],
    };
}
