/**
 * A strict validator for Home Assistant MQTT discovery messages.
 *
 * Home Assistant ignores unknown keys and drops an entity with only a log line when a value is wrong,
 * and no HA can run in CI, so every discovery message the bridge publishes goes through this in the
 * tests (shared/protocols/home-assistant.md §1 and §2). It processes a message the way HA's MQTT
 * discovery does (topic match, abbreviations, shared options, `~`), then checks each component
 * against a strict per-platform schema: unknown keys are errors here, so typos are caught.
 * The device-class tables live as data in `ha-device-classes.json`.
 */
import {z} from 'zod';
import rawTables from './ha-device-classes.json' with {type: 'json'};

export const SUPPORTED_PLATFORMS = [
    'vacuum',
    'switch',
    'light',
    'fan',
    'sensor',
    'binary_sensor',
    'button',
    'select',
    'number',
    'update',
    'event',
    'image',
] as const;
export type SupportedPlatform = (typeof SUPPORTED_PLATFORMS)[number];

export interface ValidatorOptions {
    /** HA's discovery prefix; users can change it, so the bridge makes it a setting. */
    discoveryPrefix?: string;
}

export interface DiscoveryTopic {
    style: 'device' | 'component';
    /** `device` for device-based discovery, else the platform named by the topic. */
    component: string;
    nodeId: string | null;
    objectId: string;
}

export interface DiscoveredComponent {
    /** The key in `components` (device-based) or the topic's object id (single-component). */
    key: string;
    platform: string;
    /** True when a device payload reduced this component to `{"platform": ...}`: HA removes it. */
    removed: boolean;
    /** Expanded options after shared options were merged in and `~` applied; no device or origin. */
    config: Record<string, unknown>;
    /** Problems with this component alone; HA would drop just this entity. */
    errors: string[];
}

export interface DiscoveredDevice {
    topic: DiscoveryTopic;
    /** Empty payload: HA removes the device (or the single component). */
    removal: boolean;
    /** `{"migrate_discovery": true}`: the first step of moving single-component topics to a device topic. */
    migration: boolean;
    /** The expanded `device` block, or null when the message has none. */
    device: Record<string, unknown> | null;
    origin: Record<string, unknown> | null;
    components: Record<string, DiscoveredComponent>;
}

export interface DiscoveryAnalysis {
    /** Null when the topic is not a discovery topic HA would accept. */
    discovery: DiscoveredDevice | null;
    /** Problems with the topic, the payload as a whole, the envelope, device or origin: HA ignores the message. */
    messageErrors: string[];
}

export type DiscoveryValidation = {ok: true; device: DiscoveredDevice} | {ok: false; errors: string[]};

// ------------------------------------------------------------------------------------------------
// Home Assistant's tables, checked on load so a broken data file fails loudly.

const unitListSchema = z.union([z.literal('any'), z.array(z.string().nullable()).min(1)]);
const enumTableSchema = z.object({device_classes: z.array(z.string()).min(1)});
const tablesSchema = z.object({
    home_assistant_version: z.string(),
    sensor: z.object({
        state_classes: z.array(z.string()).min(1),
        state_class_units: z.record(z.string(), z.array(z.string())),
        device_classes: z.record(z.string(), z.object({units: unitListSchema, state_classes: z.array(z.string())})),
    }),
    number: z.object({
        modes: z.array(z.string()).min(1),
        device_classes: z.record(z.string(), z.object({units: unitListSchema})),
    }),
    ambiguous_units: z.record(z.string(), z.string()),
    binary_sensor: enumTableSchema,
    button: enumTableSchema,
    event: enumTableSchema,
    update: enumTableSchema,
    switch: enumTableSchema,
    vacuum: z.object({supported_features: z.array(z.string()).min(1)}),
    light: z.object({color_modes: z.array(z.string()).min(1), exclusive_color_modes: z.array(z.string())}),
    entity_categories: z.array(z.string()).min(1),
});

export type HaTables = z.infer<typeof tablesSchema>;
/** Home Assistant's device-class, unit and feature tables (see `ha-device-classes.json`). */
export const haTables: HaTables = tablesSchema.parse(rawTables);

const ambiguousUnits = new Map(Object.entries(haTables.ambiguous_units).filter(([key]) => !key.startsWith('$')));

// ------------------------------------------------------------------------------------------------
// Abbreviations HA expands in discovery payloads (HA docs, "Supported abbreviations").

const ENTITY_ABBREVIATIONS: Readonly<Record<string, string>> = {
    act_t: 'action_topic',
    act_tpl: 'action_template',
    atype: 'automation_type',
    avty: 'availability',
    avty_mode: 'availability_mode',
    avty_t: 'availability_topic',
    avty_tpl: 'availability_template',
    bri_cmd_t: 'brightness_command_topic',
    bri_cmd_tpl: 'brightness_command_template',
    bri_scl: 'brightness_scale',
    bri_stat_t: 'brightness_state_topic',
    bri_tpl: 'brightness_template',
    bri_val_tpl: 'brightness_value_template',
    clr_temp_cmd_t: 'color_temp_command_topic',
    clr_temp_cmd_tpl: 'color_temp_command_template',
    clr_temp_k: 'color_temp_kelvin',
    clr_temp_stat_t: 'color_temp_state_topic',
    clr_temp_tpl: 'color_temp_template',
    clr_temp_val_tpl: 'color_temp_value_template',
    clrm: 'color_mode',
    clrm_stat_t: 'color_mode_state_topic',
    clrm_val_tpl: 'color_mode_value_template',
    cmd_off_tpl: 'command_off_template',
    cmd_on_tpl: 'command_on_template',
    cmd_t: 'command_topic',
    cmd_tpl: 'command_template',
    cmps: 'components',
    cont_type: 'content_type',
    def_ent_id: 'default_entity_id',
    dev: 'device',
    dev_cla: 'device_class',
    dir_cmd_t: 'direction_command_topic',
    dir_cmd_tpl: 'direction_command_template',
    dir_stat_t: 'direction_state_topic',
    dir_val_tpl: 'direction_value_template',
    dsp_prc: 'display_precision',
    e: 'encoding',
    en: 'enabled_by_default',
    ent_cat: 'entity_category',
    ent_pic: 'entity_picture',
    evt_typ: 'event_types',
    exp_aft: 'expire_after',
    fanspd_lst: 'fan_speed_list',
    flsh: 'flash',
    flsh_tlng: 'flash_time_long',
    flsh_tsht: 'flash_time_short',
    frc_upd: 'force_update',
    fx_cmd_t: 'effect_command_topic',
    fx_cmd_tpl: 'effect_command_template',
    fx_list: 'effect_list',
    fx_stat_t: 'effect_state_topic',
    fx_tpl: 'effect_template',
    fx_val_tpl: 'effect_value_template',
    hs_cmd_t: 'hs_command_topic',
    hs_stat_t: 'hs_state_topic',
    hs_val_tpl: 'hs_value_template',
    ic: 'icon',
    img_e: 'image_encoding',
    img_t: 'image_topic',
    json_attr_t: 'json_attributes_topic',
    json_attr_tpl: 'json_attributes_template',
    l_ver_t: 'latest_version_topic',
    l_ver_tpl: 'latest_version_template',
    lrst_t: 'last_reset_topic',
    lrst_val_tpl: 'last_reset_value_template',
    max_k: 'max_kelvin',
    max_mirs: 'max_mireds',
    migr_discvry: 'migrate_discovery',
    min_k: 'min_kelvin',
    min_mirs: 'min_mireds',
    o: 'origin',
    obj_id: 'object_id',
    off_dly: 'off_delay',
    ops: 'options',
    opt: 'optimistic',
    osc_cmd_t: 'oscillation_command_topic',
    osc_cmd_tpl: 'oscillation_command_template',
    osc_stat_t: 'oscillation_state_topic',
    osc_val_tpl: 'oscillation_value_template',
    p: 'platform',
    pct_cmd_t: 'percentage_command_topic',
    pct_cmd_tpl: 'percentage_command_template',
    pct_stat_t: 'percentage_state_topic',
    pct_val_tpl: 'percentage_value_template',
    pl: 'payload',
    pl_avail: 'payload_available',
    pl_cln_sp: 'payload_clean_spot',
    pl_inst: 'payload_install',
    pl_loc: 'payload_locate',
    pl_not_avail: 'payload_not_available',
    pl_off: 'payload_off',
    pl_on: 'payload_on',
    pl_osc_off: 'payload_oscillation_off',
    pl_osc_on: 'payload_oscillation_on',
    pl_paus: 'payload_pause',
    pl_prs: 'payload_press',
    pl_ret: 'payload_return_to_base',
    pl_rst: 'payload_reset',
    pl_rst_pct: 'payload_reset_percentage',
    pl_rst_pr_mode: 'payload_reset_preset_mode',
    pl_stop: 'payload_stop',
    pl_strt: 'payload_start',
    pr_mode_cmd_t: 'preset_mode_command_topic',
    pr_mode_cmd_tpl: 'preset_mode_command_template',
    pr_mode_stat_t: 'preset_mode_state_topic',
    pr_mode_val_tpl: 'preset_mode_value_template',
    pr_modes: 'preset_modes',
    rel_s: 'release_summary',
    rel_u: 'release_url',
    ret: 'retain',
    rgb_cmd_t: 'rgb_command_topic',
    rgb_stat_t: 'rgb_state_topic',
    rgb_val_tpl: 'rgb_value_template',
    send_cmd_t: 'send_command_topic',
    send_if_off: 'send_if_off',
    set_fan_spd_t: 'set_fan_speed_topic',
    spd_rng_max: 'speed_range_max',
    spd_rng_min: 'speed_range_min',
    stat_cla: 'state_class',
    stat_off: 'state_off',
    stat_on: 'state_on',
    stat_t: 'state_topic',
    stat_tpl: 'state_template',
    stat_val_tpl: 'state_value_template',
    sug_dsp_prc: 'suggested_display_precision',
    sup_clrm: 'supported_color_modes',
    sup_feat: 'supported_features',
    t: 'topic',
    tit: 'title',
    trns: 'transition',
    uniq_id: 'unique_id',
    unit_of_meas: 'unit_of_measurement',
    url_t: 'url_topic',
    url_tpl: 'url_template',
    val_tpl: 'value_template',
    whit_cmd_t: 'white_command_topic',
    whit_scl: 'white_scale',
    xy_cmd_t: 'xy_command_topic',
    xy_stat_t: 'xy_state_topic',
    xy_val_tpl: 'xy_value_template',
};

const DEVICE_ABBREVIATIONS: Readonly<Record<string, string>> = {
    cns: 'connections',
    cu: 'configuration_url',
    hw: 'hw_version',
    ids: 'identifiers',
    mdl: 'model',
    mdl_id: 'model_id',
    mf: 'manufacturer',
    sa: 'suggested_area',
    sn: 'serial_number',
    sw: 'sw_version',
};

const ORIGIN_ABBREVIATIONS: Readonly<Record<string, string>> = {
    sw: 'sw_version',
    url: 'support_url',
};

/** Root options of a device payload that HA copies into every component that does not set them. */
const SHARED_OPTIONS = [
    'availability',
    'availability_mode',
    'availability_template',
    'availability_topic',
    'payload_available',
    'payload_not_available',
    'state_topic',
    'command_topic',
    'qos',
    'encoding',
] as const;

const ID_PATTERN = /^[a-zA-Z0-9_-]+$/;

// ------------------------------------------------------------------------------------------------
// Value schemas shared by the platform schemas.

function requiredMessage(why: string, expected: string): (issue: {input: unknown}) => string {
    return (issue) => (issue.input === undefined ? `is required: ${why}` : `must be ${expected}`);
}

const topicValue = z.string({error: 'must be a topic string'}).min(1, 'must not be empty');
const templateValue = z.string({error: 'templates must be strings'}).min(1, 'must not be an empty template');
const payloadValue = z.string({error: 'must be a string'});
const nonEmptyText = z.string({error: 'must be a string'}).min(1, 'must not be empty');
const flag = z.boolean({error: 'must be true or false'});
const wholeNumber = z.int({error: 'must be a whole number'});
const nonNegativeInt = wholeNumber.min(0, 'must be 0 or more');
const httpUrl = z.string({error: 'must be a URL string'}).regex(/^https?:\/\/\S+$/, 'must be an http(s) URL');
const qosValue = z.int({error: 'must be 0, 1 or 2'}).min(0, 'must be 0, 1 or 2').max(2, 'must be 0, 1 or 2');
const textList = z.array(nonEmptyText, {error: 'must be a list of strings'});

function requiredTopic(why: string): z.ZodString {
    return z.string({error: requiredMessage(why, 'a topic string')}).min(1, 'must not be empty');
}

function oneOf(values: readonly string[], what: string): z.ZodType<string> {
    return z.string({error: 'must be a string'}).refine((value) => values.includes(value), {
        error: (issue) => `${JSON.stringify(issue.input)} is not ${what} (allowed: ${values.join(', ')})`,
    });
}

const availabilityEntrySchema = z.strictObject({
    topic: requiredTopic('each availability entry names its topic'),
    payload_available: payloadValue.optional(),
    payload_not_available: payloadValue.optional(),
    value_template: templateValue.optional(),
});

const availabilityShape = {
    availability: z
        .array(availabilityEntrySchema, {error: 'must be a list of {topic, ...} entries'})
        .min(1, 'must list at least one topic')
        .optional(),
    availability_mode: oneOf(['latest', 'any', 'all'], 'an availability_mode').optional(),
    availability_topic: topicValue.optional(),
    availability_template: templateValue.optional(),
    payload_available: payloadValue.optional(),
    payload_not_available: payloadValue.optional(),
};

/** MQTT_ENTITY_COMMON_SCHEMA plus availability; device and origin are checked on their own. */
const entityShape = {
    ...availabilityShape,
    platform: z.string().optional(),
    unique_id: z
        .string({error: requiredMessage('HA needs it for the entity registry, restores and device-based discovery', 'a string')})
        .min(1, 'must not be empty'),
    name: z.string({error: 'must be a string, or null for the main feature'}).min(1, 'must not be empty; use null').nullable().optional(),
    default_entity_id: z.string({error: 'must be a string'}).optional(),
    enabled_by_default: flag.optional(),
    visible_by_default: flag.optional(),
    entity_category: oneOf(haTables.entity_categories, 'an entity_category').optional(),
    entity_picture: httpUrl.optional(),
    icon: z.string({error: 'must be a string'}).regex(/^[a-z0-9_-]+:[a-z0-9_-]+$/, 'must look like "mdi:robot-vacuum"').optional(),
    json_attributes_topic: topicValue.optional(),
    json_attributes_template: templateValue.optional(),
    qos: qosValue.optional(),
    encoding: z.string({error: 'must be a string'}).optional(),
    group: z.array(nonEmptyText, {error: 'must be a list of unique_ids'}).min(1, 'must not be empty').optional(),
    message_expiry_interval: nonNegativeInt.optional(),
};

/** Options of platforms that publish commands. `retain` is refused separately when true. */
const commandShape = {
    retain: flag.optional(),
};

const PLATFORM_SCHEMAS: Record<SupportedPlatform, z.ZodType> = {
    vacuum: z.strictObject({
        ...entityShape,
        ...commandShape,
        command_topic: topicValue.optional(),
        state_topic: topicValue.optional(),
        send_command_topic: topicValue.optional(),
        set_fan_speed_topic: topicValue.optional(),
        clean_segments_command_topic: topicValue.optional(),
        clean_segments_command_template: templateValue.optional(),
        fan_speed_list: textList.min(1, 'must list at least one fan speed').optional(),
        supported_features: z.array(z.string(), {
            error: requiredMessage('always send the feature list explicitly; HA\'s default assumes features we may not have', 'a list of feature names'),
        }),
        payload_start: payloadValue.optional(),
        payload_stop: payloadValue.optional(),
        payload_pause: payloadValue.optional(),
        payload_return_to_base: payloadValue.optional(),
        payload_locate: payloadValue.optional(),
        payload_clean_spot: payloadValue.optional(),
    }),
    switch: z.strictObject({
        ...entityShape,
        ...commandShape,
        command_topic: requiredTopic('a switch is commanded through it'),
        command_template: templateValue.optional(),
        state_topic: topicValue.optional(),
        value_template: templateValue.optional(),
        payload_on: payloadValue.optional(),
        payload_off: payloadValue.optional(),
        state_on: payloadValue.optional(),
        state_off: payloadValue.optional(),
        optimistic: flag.optional(),
        device_class: oneOf(haTables.switch.device_classes, 'a switch device_class').optional(),
    }),
    light: z.strictObject({
        ...entityShape,
        ...commandShape,
        schema: z.literal('json', {error: requiredMessage('only JSON-schema lights are published', '"json"')}),
        command_topic: requiredTopic('a light is commanded through it'),
        state_topic: topicValue.optional(),
        supported_color_modes: z.array(z.string(), {error: requiredMessage('JSON lights list their colour modes', 'a list of colour modes')}),
        brightness_scale: wholeNumber.min(1, 'must be 1 or more').optional(),
        color_temp_kelvin: flag.optional(),
        min_kelvin: wholeNumber.min(1, 'must be positive').optional(),
        max_kelvin: wholeNumber.min(1, 'must be positive').optional(),
        min_mireds: wholeNumber.min(1, 'must be positive').optional(),
        max_mireds: wholeNumber.min(1, 'must be positive').optional(),
        effect: flag.optional(),
        effect_list: textList.min(1, 'must not be empty').optional(),
        flash: flag.optional(),
        flash_time_short: nonNegativeInt.optional(),
        flash_time_long: nonNegativeInt.optional(),
        transition: flag.optional(),
        white_scale: wholeNumber.min(1, 'must be 1 or more').optional(),
        optimistic: flag.optional(),
    }),
    fan: z.strictObject({
        ...entityShape,
        ...commandShape,
        command_topic: requiredTopic('a fan is switched through it'),
        command_template: templateValue.optional(),
        state_topic: topicValue.optional(),
        state_value_template: templateValue.optional(),
        payload_on: payloadValue.optional(),
        payload_off: payloadValue.optional(),
        percentage_command_topic: topicValue.optional(),
        percentage_command_template: templateValue.optional(),
        percentage_state_topic: topicValue.optional(),
        percentage_value_template: templateValue.optional(),
        speed_range_min: wholeNumber.min(1, 'must be 1 or more').optional(),
        speed_range_max: wholeNumber.min(1, 'must be 1 or more').optional(),
        payload_reset_percentage: payloadValue.optional(),
        preset_mode_command_topic: topicValue.optional(),
        preset_mode_command_template: templateValue.optional(),
        preset_mode_state_topic: topicValue.optional(),
        preset_mode_value_template: templateValue.optional(),
        preset_modes: textList.optional(),
        payload_reset_preset_mode: payloadValue.optional(),
        oscillation_command_topic: topicValue.optional(),
        oscillation_command_template: templateValue.optional(),
        oscillation_state_topic: topicValue.optional(),
        oscillation_value_template: templateValue.optional(),
        payload_oscillation_on: payloadValue.optional(),
        payload_oscillation_off: payloadValue.optional(),
        direction_command_topic: topicValue.optional(),
        direction_command_template: templateValue.optional(),
        direction_state_topic: topicValue.optional(),
        direction_value_template: templateValue.optional(),
        optimistic: flag.optional(),
    }),
    sensor: z.strictObject({
        ...entityShape,
        state_topic: requiredTopic('a sensor reads its value from it'),
        value_template: templateValue.optional(),
        device_class: z.string({error: 'must be a string'}).optional(),
        state_class: oneOf(haTables.sensor.state_classes, 'a state_class').optional(),
        unit_of_measurement: z.string({error: 'must be a string'}).optional(),
        suggested_display_precision: nonNegativeInt.optional(),
        expire_after: nonNegativeInt.optional(),
        force_update: flag.optional(),
        last_reset_value_template: templateValue.optional(),
        options: z.array(z.string({error: 'options must be strings'}), {error: 'must be a list of strings'}).optional(),
    }),
    binary_sensor: z.strictObject({
        ...entityShape,
        state_topic: requiredTopic('a binary sensor reads its value from it'),
        value_template: templateValue.optional(),
        payload_on: payloadValue.optional(),
        payload_off: payloadValue.optional(),
        device_class: oneOf(haTables.binary_sensor.device_classes, 'a binary_sensor device_class').optional(),
        off_delay: nonNegativeInt.optional(),
        expire_after: nonNegativeInt.optional(),
        force_update: flag.optional(),
    }),
    button: z.strictObject({
        ...entityShape,
        ...commandShape,
        command_topic: requiredTopic('a button press is published to it'),
        command_template: templateValue.optional(),
        payload_press: payloadValue.optional(),
        device_class: oneOf(haTables.button.device_classes, 'a button device_class').optional(),
    }),
    select: z.strictObject({
        ...entityShape,
        ...commandShape,
        command_topic: requiredTopic('the chosen option is published to it'),
        command_template: templateValue.optional(),
        state_topic: topicValue.optional(),
        value_template: templateValue.optional(),
        options: z.array(z.string({error: 'options must be strings'}), {error: requiredMessage('a select lists its options', 'a list of strings')}),
        optimistic: flag.optional(),
    }),
    number: z.strictObject({
        ...entityShape,
        ...commandShape,
        command_topic: requiredTopic('the new value is published to it'),
        command_template: templateValue.optional(),
        state_topic: topicValue.optional(),
        value_template: templateValue.optional(),
        min: z.number({error: 'must be a number'}).optional(),
        max: z.number({error: 'must be a number'}).optional(),
        step: z.number({error: 'must be a number'}).positive('must be greater than 0').optional(),
        mode: oneOf(haTables.number.modes, 'a number mode').optional(),
        unit_of_measurement: z.string({error: 'must be a string'}).optional(),
        device_class: z.string({error: 'must be a string'}).optional(),
        payload_reset: payloadValue.optional(),
        optimistic: flag.optional(),
    }),
    update: z.strictObject({
        ...entityShape,
        ...commandShape,
        state_topic: requiredTopic('the installed version (or the JSON state) comes from it'),
        value_template: templateValue.optional(),
        command_topic: topicValue.optional(),
        payload_install: payloadValue.optional(),
        latest_version_topic: topicValue.optional(),
        latest_version_template: templateValue.optional(),
        device_class: oneOf(haTables.update.device_classes, 'an update device_class').optional(),
        title: nonEmptyText.optional(),
        release_summary: nonEmptyText.optional(),
        release_url: httpUrl.optional(),
        display_precision: nonNegativeInt.optional(),
    }),
    event: z.strictObject({
        ...entityShape,
        state_topic: requiredTopic('events arrive on it'),
        value_template: templateValue.optional(),
        event_types: z
            .array(nonEmptyText, {error: requiredMessage('an event entity lists the event types it can fire', 'a list of strings')})
            .min(1, 'must list at least one event type'),
        device_class: oneOf(haTables.event.device_classes, 'an event device_class').optional(),
    }),
    // HA core mqtt/image.py: image_topic and url_topic are exclusive, one is required (checkImage).
    image: z.strictObject({
        ...entityShape,
        image_topic: topicValue.optional(),
        url_topic: topicValue.optional(),
        image_encoding: z.literal('b64', {error: 'must be "b64", the only encoding HA decodes (leave it out for raw bytes)'}).optional(),
        content_type: nonEmptyText.optional(),
        url_template: templateValue.optional(),
    }),
};

/** Keys HA used to accept and no longer does, with what to do instead. */
const OBJECT_ID_REASON = 'object_id was removed in HA 2026.4 (ignored); use default_entity_id';
const LEGACY_VACUUM_REASON = 'legacy vacuum option, removed with the legacy vacuum schema in HA 2024.2';
const LEGACY_LIGHT_REASON = 'JSON-light flag removed in HA 2025.3; list the modes in supported_color_modes';
const NAMED_FAN_SPEED_REASON = 'named fan speeds were removed from MQTT fans; use the percentage_* and preset_mode_* options';
const REFUSED_KEYS: Record<SupportedPlatform, Readonly<Record<string, string>>> = {
    vacuum: {
        schema: 'the vacuum "schema" option was removed in HA 2024.8 (HA logs an error); leave it out',
        battery_level_topic: 'vacuum battery support was removed from MQTT (early 2026); publish a sensor with device_class battery',
        battery_level_template: 'vacuum battery support was removed from MQTT (early 2026); publish a sensor with device_class battery',
        charging_topic: LEGACY_VACUUM_REASON,
        charging_template: LEGACY_VACUUM_REASON,
        cleaning_topic: LEGACY_VACUUM_REASON,
        cleaning_template: LEGACY_VACUUM_REASON,
        docked_topic: LEGACY_VACUUM_REASON,
        docked_template: LEGACY_VACUUM_REASON,
        error_topic: LEGACY_VACUUM_REASON,
        error_template: LEGACY_VACUUM_REASON,
        fan_speed_topic: LEGACY_VACUUM_REASON,
        fan_speed_template: LEGACY_VACUUM_REASON,
    },
    light: {
        color_mode: LEGACY_LIGHT_REASON,
        color_temp: LEGACY_LIGHT_REASON,
        hs: LEGACY_LIGHT_REASON,
        rgb: LEGACY_LIGHT_REASON,
        xy: LEGACY_LIGHT_REASON,
        brightness: 'JSON-light brightness flag removed; HA derives brightness support from supported_color_modes',
    },
    fan: {
        speeds: NAMED_FAN_SPEED_REASON,
        speed_command_topic: NAMED_FAN_SPEED_REASON,
        speed_state_topic: NAMED_FAN_SPEED_REASON,
        speed_value_template: NAMED_FAN_SPEED_REASON,
        payload_low_speed: NAMED_FAN_SPEED_REASON,
        payload_medium_speed: NAMED_FAN_SPEED_REASON,
        payload_high_speed: NAMED_FAN_SPEED_REASON,
        payload_off_speed: NAMED_FAN_SPEED_REASON,
    },
    select: {unit_of_measurement: 'a select has no unit_of_measurement'},
    switch: {},
    sensor: {},
    binary_sensor: {},
    button: {},
    number: {},
    update: {},
    event: {},
    image: {},
};

const DEVICE_SCHEMA = z.strictObject({
    identifiers: z
        .union([nonEmptyText, z.array(nonEmptyText).min(1)], {error: 'must be a string or a non-empty list of strings'})
        .optional(),
    connections: z
        .array(z.tuple([nonEmptyText, nonEmptyText]), {error: 'must be a list of [type, value] pairs, e.g. ["mac", "02:5b:..."]'})
        .min(1, 'must not be empty')
        .optional(),
    name: nonEmptyText.optional(),
    manufacturer: nonEmptyText.optional(),
    model: nonEmptyText.optional(),
    model_id: nonEmptyText.optional(),
    serial_number: nonEmptyText.optional(),
    hw_version: nonEmptyText.optional(),
    sw_version: nonEmptyText.optional(),
    suggested_area: nonEmptyText.optional(),
    configuration_url: z
        .string({error: 'must be a URL string'})
        .regex(/^(https?|homeassistant):\/\/\S+$/, 'must be an http(s):// or homeassistant:// URL')
        .optional(),
    via_device: nonEmptyText.optional(),
});

const ORIGIN_SCHEMA = z.strictObject({
    name: z.string({error: requiredMessage('HA logs it for every discovered item', 'a string')}).min(1, 'must not be empty'),
    sw_version: nonEmptyText.optional(),
    support_url: httpUrl.optional(),
});

const DEVICE_ENVELOPE_SCHEMA = z.strictObject({
    ...availabilityShape,
    // Checked on their own for clearer messages.
    device: z.unknown().optional(),
    origin: z.unknown().optional(),
    components: z.unknown().optional(),
    state_topic: topicValue.optional(),
    command_topic: topicValue.optional(),
    qos: qosValue.optional(),
    encoding: z.string({error: 'must be a string'}).optional(),
});

// ------------------------------------------------------------------------------------------------
// Public API.

/**
 * Validates one message as Home Assistant's MQTT discovery would receive it. An empty payload is a
 * valid removal. Returns every problem found, each naming the component, the option and the reason.
 */
export function validateDiscoveryMessage(topic: string, payload: string | Buffer, options: ValidatorOptions = {}): DiscoveryValidation {
    const analysis = analyseDiscoveryMessage(topic, payload, options);
    const errors = [...analysis.messageErrors];
    for (const component of Object.values(analysis.discovery?.components ?? {})) errors.push(...component.errors);
    if (errors.length > 0 || !analysis.discovery) return {ok: false, errors};
    return {ok: true, device: analysis.discovery};
}

/** Like validateDiscoveryMessage, but throws one Error that lists every problem. */
export function assertValidDiscovery(topic: string, payload: string | Buffer, options: ValidatorOptions = {}): DiscoveredDevice {
    const result = validateDiscoveryMessage(topic, payload, options);
    if (!result.ok) {
        throw new Error(`invalid discovery message on ${topic}:\n${result.errors.map((error) => `  - ${error}`).join('\n')}`);
    }
    return result.device;
}

/** Matches a discovery topic as HA does; returns null for topics HA's discovery never looks at. */
export function parseDiscoveryTopic(topic: string, discoveryPrefix = 'homeassistant'): DiscoveryTopic | {error: string} | null {
    const prefix = `${discoveryPrefix}/`;
    if (!topic.startsWith(prefix)) return null;
    const rest = topic.slice(prefix.length);
    const parts = rest.split('/');
    if (parts.at(-1) !== 'config') return null;
    const match = /^(\w+)\/(?:([a-zA-Z0-9_-]+)\/)?([a-zA-Z0-9_-]+)\/config$/.exec(rest);
    if (!match) {
        return {error: `illegal discovery topic "${topic}": expected ${discoveryPrefix}/<component>/[<node_id>/]<object_id>/config with ids of [a-zA-Z0-9_-] only`};
    }
    const [, component = '', nodeId, objectId = ''] = match;
    return {style: component === 'device' ? 'device' : 'component', component, nodeId: nodeId ?? null, objectId};
}

/**
 * The detailed form behind validateDiscoveryMessage, for the fake HA consumer: message-level problems
 * make HA ignore the whole message, component problems only drop that component.
 */
export function analyseDiscoveryMessage(topic: string, payload: string | Buffer, options: ValidatorOptions = {}): DiscoveryAnalysis {
    const prefix = options.discoveryPrefix ?? 'homeassistant';
    const parsedTopic = parseDiscoveryTopic(topic, prefix);
    if (parsedTopic === null) {
        return {discovery: null, messageErrors: [`topic "${topic}" is not a discovery config topic under "${prefix}/"`]};
    }
    if ('error' in parsedTopic) return {discovery: null, messageErrors: [parsedTopic.error]};

    const messageErrors: string[] = [];
    const discovery: DiscoveredDevice = {
        topic: parsedTopic,
        removal: false,
        migration: false,
        device: null,
        origin: null,
        components: {},
    };
    if (parsedTopic.style === 'component' && !(SUPPORTED_PLATFORMS as readonly string[]).includes(parsedTopic.component)) {
        messageErrors.push(`topic: platform "${parsedTopic.component}" is not one this validator covers (${SUPPORTED_PLATFORMS.join(', ')})`);
        return {discovery, messageErrors};
    }

    const decoded = decodePayload(payload);
    if ('error' in decoded) return {discovery, messageErrors: [decoded.error]};
    if (decoded.json === null) {
        discovery.removal = true;
        return {discovery, messageErrors};
    }
    const body = decoded.json;
    if ('migrate_discovery' in body || 'migr_discvry' in body) {
        const flagValue = body.migrate_discovery ?? body.migr_discvry;
        if (Object.keys(body).length !== 1 || flagValue !== true) {
            messageErrors.push('payload: a migration message is exactly {"migrate_discovery": true}');
        }
        discovery.migration = true;
        return {discovery, messageErrors};
    }

    if (parsedTopic.style === 'device') {
        analyseDevicePayload(body, discovery, messageErrors);
    } else {
        analyseComponentPayload(body, parsedTopic.component as SupportedPlatform, discovery, messageErrors);
    }
    return {discovery, messageErrors};
}

// ------------------------------------------------------------------------------------------------
// Payload handling.

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodePayload(payload: string | Buffer): {json: JsonObject | null} | {error: string} {
    let text: string;
    if (typeof payload === 'string') {
        text = payload;
    } else {
        try {
            text = new TextDecoder('utf-8', {fatal: true}).decode(payload);
        } catch {
            return {error: 'payload: not valid UTF-8'};
        }
    }
    if (text === '') return {json: null};
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (error) {
        return {error: `payload: not valid JSON (${(error as Error).message})`};
    }
    if (!isObject(parsed)) return {error: 'payload: must be a JSON object'};
    return {json: parsed};
}

/** Expands abbreviated keys; a key given both abbreviated and in full is an error (HA keeps one silently). */
function expandKeys(source: JsonObject, table: Readonly<Record<string, string>>, where: string, errors: string[]): JsonObject {
    const expanded: JsonObject = {};
    const spelledAs = new Map<string, string>();
    for (const [key, value] of Object.entries(source)) {
        const fullName = table[key] ?? key;
        const earlier = spelledAs.get(fullName);
        if (earlier !== undefined) {
            errors.push(`${where}: "${earlier}" and "${key}" both set ${fullName}`);
            continue;
        }
        spelledAs.set(fullName, key);
        expanded[fullName] = value;
    }
    return expanded;
}

/** Expands an entity's keys and those of its availability entries. */
function expandEntity(source: JsonObject, where: string, errors: string[]): JsonObject {
    const expanded = expandKeys(source, ENTITY_ABBREVIATIONS, where, errors);
    if (Array.isArray(expanded.availability)) {
        expanded.availability = expanded.availability.map((entry, index) =>
            isObject(entry) ? expandKeys(entry, ENTITY_ABBREVIATIONS, `${where}: availability[${index}]`, errors) : entry,
        );
    }
    return expanded;
}

/** HA replaces a `~` at the start or end of every `*topic` option (and availability topics). */
function applyTopicBase(config: JsonObject): void {
    const base = config['~'];
    delete config['~'];
    if (typeof base !== 'string') return;
    const replace = (value: string): string => {
        let result = value;
        if (result.startsWith('~')) result = base + result.slice(1);
        if (result.endsWith('~')) result = result.slice(0, -1) + base;
        return result;
    };
    for (const [key, value] of Object.entries(config)) {
        if (key.endsWith('topic') && typeof value === 'string' && value !== '') config[key] = replace(value);
    }
    if (Array.isArray(config.availability)) {
        for (const entry of config.availability) {
            if (isObject(entry) && typeof entry.topic === 'string' && entry.topic !== '') entry.topic = replace(entry.topic);
        }
    }
}

function analyseDevicePayload(body: JsonObject, discovery: DiscoveredDevice, messageErrors: string[]): void {
    const root = expandEntity(body, 'payload', messageErrors);
    if ('~' in root) {
        messageErrors.push('payload: "~" at the root of a device payload is not applied by HA (only shared options are merged); set "~" in each component');
        delete root['~'];
    }
    reportIssues(DEVICE_ENVELOPE_SCHEMA, root, 'payload', messageErrors, {suggestFrom: Object.keys(DEVICE_ENVELOPE_SCHEMA.shape)});
    checkAvailability(root, 'payload', messageErrors, new Set());
    for (const option of SHARED_OPTIONS) {
        const value = root[option];
        // A `~` here is resolved by each component's own base, so components check that part.
        if (option.endsWith('topic') && typeof value === 'string') checkTopic(option, value, 'payload', messageErrors, {content: true, base: false});
    }
    if (Array.isArray(root.availability)) {
        root.availability.forEach((entry, index) => {
            if (isObject(entry) && typeof entry.topic === 'string') {
                checkTopic(`availability[${index}].topic`, entry.topic, 'payload', messageErrors, {content: true, base: false});
            }
        });
    }

    discovery.device = analyseDevice(root.device, 'device', messageErrors, true);
    discovery.origin = analyseOrigin(root.origin, messageErrors, true);

    const components = root.components;
    if (components === undefined) {
        messageErrors.push('payload: components is required: a device payload maps component keys to their configs');
        return;
    }
    if (!isObject(components)) {
        messageErrors.push('payload: components must be an object mapping component keys to configs');
        return;
    }
    if (Object.keys(components).length === 0) {
        messageErrors.push('payload: components is empty; publish an empty payload to remove the device instead');
        return;
    }

    const uniqueIdOwners = new Map<string, string>();
    for (const [key, rawComponent] of Object.entries(components)) {
        const where = `components.${key}`;
        if (!ID_PATTERN.test(key)) messageErrors.push(`${where}: component keys may only use [a-zA-Z0-9_-]`);
        if (!isObject(rawComponent)) {
            messageErrors.push(`${where}: must be an object with at least "platform"`);
            continue;
        }
        const errors: string[] = [];
        const expanded = expandEntity(rawComponent, where, errors);
        const platform = expanded.platform;
        if (typeof platform !== 'string') {
            messageErrors.push(`${where}: platform ("p") is required in every component of a device payload`);
            continue;
        }
        const label = `${where} (${platform})`;
        const component: DiscoveredComponent = {key, platform, removed: false, config: {}, errors};
        discovery.components[key] = component;
        if (!(SUPPORTED_PLATFORMS as readonly string[]).includes(platform)) {
            errors.push(`${label}: platform "${platform}" is not one this validator covers (${SUPPORTED_PLATFORMS.join(', ')})`);
            continue;
        }
        const {platform: _platform, ...options} = expanded;
        if (Object.keys(options).length === 0) {
            // HA's documented first step for removing one component from a device.
            component.removed = true;
            continue;
        }
        for (const blocked of ['device', 'origin'] as const) {
            if (blocked in options) {
                errors.push(`${label}: ${blocked}: belongs at the root of a device payload; components cannot set their own`);
                delete options[blocked];
            }
        }
        const config: JsonObject = {...options};
        const inherited = new Set<string>();
        const schemaKeys = schemaKeysOf(platform as SupportedPlatform);
        for (const option of SHARED_OPTIONS) {
            // HA copies the option and the platform ignores what it does not know; copying only what the
            // platform knows keeps strict checking from flagging HA's own merge.
            if (option in root && !(option in config) && schemaKeys.has(option)) {
                // A copy, because applying this component's `~` must not rewrite the root's availability list.
                config[option] = structuredClone(root[option]);
                inherited.add(option);
            }
        }
        applyTopicBase(config);
        component.config = config;
        checkComponent(platform as SupportedPlatform, config, label, errors, {inherited, device: discovery.device});
        const uniqueId = config.unique_id;
        if (typeof uniqueId === 'string') {
            const owner = uniqueIdOwners.get(uniqueId);
            if (owner !== undefined) errors.push(`${label}: unique_id: "${uniqueId}" is also used by components.${owner}`);
            else uniqueIdOwners.set(uniqueId, key);
        }
    }
}

function analyseComponentPayload(body: JsonObject, platform: SupportedPlatform, discovery: DiscoveredDevice, messageErrors: string[]): void {
    const key = discovery.topic.objectId;
    const label = `${platform}/${discovery.topic.nodeId === null ? '' : `${discovery.topic.nodeId}/`}${key}`;
    const errors: string[] = [];
    const {device, origin, ...config} = expandEntity(body, label, errors);
    discovery.device = device === undefined ? null : analyseDevice(device, 'device', messageErrors, false);
    discovery.origin = origin === undefined ? null : analyseOrigin(origin, messageErrors, false);
    if ('platform' in config) {
        errors.push(`${label}: platform: only components of a device payload carry "p"; the topic names the platform here`);
        delete config.platform;
    }
    applyTopicBase(config);
    discovery.components[key] = {key, platform, removed: false, config, errors};
    checkComponent(platform, config, label, errors, {inherited: new Set(), device: discovery.device});
}

function analyseDevice(raw: unknown, where: string, errors: string[], required: boolean): JsonObject | null {
    if (raw === undefined) {
        if (required) errors.push(`${where}: is required: a device payload describes one device ("dev")`);
        return null;
    }
    if (!isObject(raw)) {
        errors.push(`${where}: must be an object`);
        return null;
    }
    const device = expandKeys(raw, DEVICE_ABBREVIATIONS, where, errors);
    reportIssues(DEVICE_SCHEMA, device, where, errors, {suggestFrom: Object.keys(DEVICE_SCHEMA.shape)});
    const hasIdentifiers = typeof device.identifiers === 'string' || (Array.isArray(device.identifiers) && device.identifiers.length > 0);
    const hasConnections = Array.isArray(device.connections) && device.connections.length > 0;
    if (!hasIdentifiers && !hasConnections) {
        errors.push(`${where}: needs identifiers or connections, or HA cannot put it in the device registry`);
    }
    return device;
}

function analyseOrigin(raw: unknown, errors: string[], required: boolean): JsonObject | null {
    if (raw === undefined) {
        if (required) errors.push('origin: is required in a device payload ("o": {"name": ...})');
        return null;
    }
    if (!isObject(raw)) {
        errors.push('origin: must be an object');
        return null;
    }
    const origin = expandKeys(raw, ORIGIN_ABBREVIATIONS, 'origin', errors);
    reportIssues(ORIGIN_SCHEMA, origin, 'origin', errors, {suggestFrom: Object.keys(ORIGIN_SCHEMA.shape)});
    return origin;
}

// ------------------------------------------------------------------------------------------------
// Component checks.

interface ComponentContext {
    /** Options copied from the device payload's root: problems with them are reported there. */
    inherited: ReadonlySet<string>;
    device: JsonObject | null;
}

const schemaKeyCache = new Map<SupportedPlatform, Set<string>>();

function schemaKeysOf(platform: SupportedPlatform): Set<string> {
    let keys = schemaKeyCache.get(platform);
    if (!keys) {
        keys = new Set(Object.keys((PLATFORM_SCHEMAS[platform] as z.ZodObject).shape));
        schemaKeyCache.set(platform, keys);
    }
    return keys;
}

function isCommandTopicKey(key: string): boolean {
    return key.endsWith('command_topic') || key === 'set_fan_speed_topic';
}

function checkComponent(platform: SupportedPlatform, input: JsonObject, label: string, errors: string[], context: ComponentContext): void {
    const config = {...input};
    for (const [key, reason] of Object.entries({object_id: OBJECT_ID_REASON, ...REFUSED_KEYS[platform]})) {
        if (key in config) {
            errors.push(`${label}: ${key}: ${reason}`);
            delete config[key];
        }
    }
    reportIssues(PLATFORM_SCHEMAS[platform], config, label, errors, {
        suggestFrom: [...schemaKeysOf(platform)],
        skip: context.inherited,
    });

    // Inherited topics had their content checked at the root; whether their `~` resolved depends on this component.
    const topicChecks = (key: string): TopicChecks => ({content: !context.inherited.has(key), base: true});
    for (const [key, value] of Object.entries(config)) {
        if (key.endsWith('_topic') && typeof value === 'string') checkTopic(key, value, label, errors, topicChecks(key));
    }
    if (Array.isArray(config.availability)) {
        config.availability.forEach((entry, index) => {
            if (isObject(entry) && typeof entry.topic === 'string') {
                checkTopic(`availability[${index}].topic`, entry.topic, label, errors, topicChecks('availability'));
            }
        });
    }
    checkAvailability(config, label, errors, context.inherited);

    if (config.retain === true) {
        errors.push(`${label}: retain: must not be true; HA would publish retained commands that replay on every reconnect`);
    }
    const readOnly = typeof config.command_topic !== 'string';
    if (config.entity_category === 'config' && readOnly) {
        errors.push(`${label}: entity_category: "config" is for settable entities; a read-only ${platform} must use "diagnostic"`);
    }
    checkDefaultEntityId(platform, config.default_entity_id, label, errors);
    checkName(config.name, context.device, label, errors);

    switch (platform) {
        case 'vacuum':
            checkVacuum(config, label, errors);
            break;
        case 'light':
            checkLight(config, label, errors);
            break;
        case 'fan':
            checkFan(config, label, errors);
            break;
        case 'sensor':
            checkSensor(config, label, errors);
            break;
        case 'select':
            checkDistinctTexts(config.options, 'options', label, errors, 'a select needs at least one option');
            break;
        case 'number':
            checkNumber(config, label, errors);
            break;
        case 'button':
            if (config.device_class === 'identify' && config.entity_category !== 'diagnostic') {
                errors.push(`${label}: entity_category: an identify button must be "diagnostic"`);
            }
            break;
        case 'update':
            if ('payload_install' in config && readOnly) {
                errors.push(`${label}: payload_install: only means something with a command_topic (HA offers install only then)`);
            }
            break;
        case 'event':
            checkDistinctTexts(config.event_types, 'event_types', label, errors, null);
            break;
        case 'image':
            checkImage(config, label, errors);
            break;
        case 'switch':
        case 'binary_sensor':
            break;
    }
}

/** HA's `validate_topic_required` and the exclusive group of mqtt/image.py. */
function checkImage(config: JsonObject, label: string, errors: string[]): void {
    const hasImageTopic = 'image_topic' in config;
    const hasUrlTopic = 'url_topic' in config;
    if (!hasImageTopic && !hasUrlTopic) errors.push(`${label}: image_topic: an image needs image_topic (the picture's bytes) or url_topic (its URL)`);
    if (hasImageTopic && hasUrlTopic) errors.push(`${label}: url_topic: cannot be combined with image_topic; HA's schema makes them exclusive`);
    if (hasUrlTopic && 'content_type' in config) errors.push(`${label}: content_type: cannot be used together with url_topic`);
    if (hasUrlTopic && 'image_encoding' in config) errors.push(`${label}: image_encoding: only applies to image_topic`);
}

interface TopicChecks {
    /** Wildcards, NUL, whitespace, length. */
    content: boolean;
    /** A `~` left over because no base was defined. */
    base: boolean;
}

function checkTopic(key: string, topic: string, label: string, errors: string[], checks: TopicChecks): void {
    const where = `${label}: ${key}`;
    if (checks.base && (topic.startsWith('~') || topic.endsWith('~'))) {
        errors.push(`${where}: "${topic}" still has a "~" but this component defines no "~" base`);
    }
    if (!checks.content) return;
    const wildcard = ['+', '#'].find((character) => topic.includes(character));
    if (wildcard !== undefined) {
        errors.push(
            isCommandTopicKey(key)
                ? `${where}: "${topic}" contains the wildcard "${wildcard}"; HA publishes commands to it and MQTT forbids wildcards in publish topics`
                : `${where}: "${topic}" contains the wildcard "${wildcard}"; we never publish to wildcard topics, so nothing would arrive`,
        );
    }
    if (topic.includes('\u0000')) errors.push(`${where}: contains a NUL character`);
    if (topic.trim() !== topic) errors.push(`${where}: "${topic}" has leading or trailing whitespace`);
    if (Buffer.byteLength(topic, 'utf8') > 65535) errors.push(`${where}: longer than the 65535 bytes MQTT allows`);
}

function checkAvailability(config: JsonObject, label: string, errors: string[], inherited: ReadonlySet<string>): void {
    const hasList = 'availability' in config;
    const hasTopic = 'availability_topic' in config;
    if (hasList && hasTopic) {
        const origin = inherited.has('availability') || inherited.has('availability_topic') ? ' (one comes from the device payload root)' : '';
        errors.push(`${label}: availability_topic: cannot be combined with availability${origin}; HA's schema makes them exclusive`);
    }
    if (hasList && !hasTopic) {
        for (const option of ['payload_available', 'payload_not_available', 'availability_template']) {
            if (option in config && !inherited.has(option)) {
                errors.push(`${label}: ${option}: only applies to availability_topic; set it in each availability entry instead`);
            }
        }
    }
    if ('availability_mode' in config && !hasList && !inherited.has('availability_mode')) {
        errors.push(`${label}: availability_mode: only applies to an availability list`);
    }
}

function checkDefaultEntityId(platform: SupportedPlatform, value: unknown, label: string, errors: string[]): void {
    if (typeof value !== 'string') return;
    const where = `${label}: default_entity_id`;
    if (!value.startsWith(`${platform}.`)) {
        errors.push(`${where}: "${value}" must start with "${platform}." (its domain must match the platform; a mismatch stops working in HA 2027.5)`);
        return;
    }
    const objectPart = value.slice(platform.length + 1);
    if (!/^[a-z0-9]+(?:_[a-z0-9]+)*$/.test(objectPart)) {
        errors.push(`${where}: "${value}": the part after "${platform}." may only use a-z, 0-9 and single inner underscores`);
    }
}

function checkName(name: unknown, device: JsonObject | null, label: string, errors: string[]): void {
    const deviceName = device?.name;
    if (typeof name !== 'string' || typeof deviceName !== 'string') return;
    const lowerName = name.toLowerCase();
    const lowerDevice = deviceName.toLowerCase();
    if (lowerName === lowerDevice || lowerName.startsWith(`${lowerDevice} `)) {
        errors.push(`${label}: name: "${name}" repeats the device name "${deviceName}"; HA prefixes it already (use null for the main feature)`);
    }
}

function checkDistinctTexts(value: unknown, option: string, label: string, errors: string[], emptyReason: string | null): void {
    if (!Array.isArray(value)) return;
    if (value.length === 0 && emptyReason !== null) errors.push(`${label}: ${option}: must not be empty; ${emptyReason}`);
    if (value.some((item) => item === '')) errors.push(`${label}: ${option}: entries must be non-empty strings`);
    const duplicates = value.filter((item, index) => value.indexOf(item) !== index);
    if (duplicates.length > 0) errors.push(`${label}: ${option}: lists ${duplicates.map((item) => JSON.stringify(item)).join(', ')} more than once`);
}

function checkVacuum(config: JsonObject, label: string, errors: string[]): void {
    const features = config.supported_features;
    if (!Array.isArray(features)) return;
    const allowed = haTables.vacuum.supported_features;
    for (const feature of features) {
        if (feature === 'battery') {
            errors.push(`${label}: supported_features: "battery" was removed from MQTT vacuums (early 2026); publish a sensor with device_class battery`);
        } else if (typeof feature !== 'string' || !allowed.includes(feature)) {
            errors.push(`${label}: supported_features: ${JSON.stringify(feature)} is not a vacuum feature (allowed: ${allowed.join(', ')})`);
        }
    }
    checkDistinctTexts(features, 'supported_features', label, errors, null);
    const has = (feature: string): boolean => features.includes(feature);
    const commandFeatures = ['start', 'stop', 'pause', 'return_home', 'locate', 'clean_spot'].filter(has);
    if (commandFeatures.length > 0 && !('command_topic' in config)) {
        errors.push(`${label}: command_topic: is required by the features ${commandFeatures.join(', ')}`);
    }
    if (has('fan_speed')) {
        if (!Array.isArray(config.fan_speed_list)) errors.push(`${label}: fan_speed_list: is required by the fan_speed feature`);
        if (!('set_fan_speed_topic' in config)) errors.push(`${label}: set_fan_speed_topic: is required by the fan_speed feature`);
    } else {
        for (const option of ['fan_speed_list', 'set_fan_speed_topic']) {
            if (option in config) errors.push(`${label}: ${option}: is ignored without the fan_speed feature in supported_features`);
        }
    }
    if (has('send_command') && !('send_command_topic' in config)) errors.push(`${label}: send_command_topic: is required by the send_command feature`);
    if (!has('send_command') && 'send_command_topic' in config) {
        errors.push(`${label}: send_command_topic: is ignored without the send_command feature in supported_features`);
    }
    if (has('status') && !('state_topic' in config)) errors.push(`${label}: state_topic: is required by the status feature`);
    checkDistinctTexts(config.fan_speed_list, 'fan_speed_list', label, errors, null);
    if ('clean_segments_command_template' in config && !('clean_segments_command_topic' in config)) {
        errors.push(`${label}: clean_segments_command_template: needs clean_segments_command_topic`);
    }
}

function checkLight(config: JsonObject, label: string, errors: string[]): void {
    const modes = config.supported_color_modes;
    if (!Array.isArray(modes)) return;
    const where = `${label}: supported_color_modes`;
    if (modes.length === 0) {
        errors.push(`${where}: must not be empty`);
        return;
    }
    const allowed = haTables.light.color_modes;
    for (const mode of modes) {
        if (typeof mode !== 'string' || !allowed.includes(mode)) {
            errors.push(`${where}: ${JSON.stringify(mode)} is not a colour mode (allowed: ${allowed.join(', ')})`);
        }
    }
    checkDistinctTexts(modes, 'supported_color_modes', label, errors, null);
    const exclusive = modes.filter((mode) => haTables.light.exclusive_color_modes.includes(mode));
    if (exclusive.length > 0 && modes.length > 1) {
        errors.push(`${where}: ${exclusive.map((mode) => `"${mode}"`).join(' and ')} must be the only mode when used; got [${modes.join(', ')}]`);
    }
    if (!modes.includes('color_temp')) {
        for (const option of ['color_temp_kelvin', 'min_kelvin', 'max_kelvin', 'min_mireds', 'max_mireds']) {
            if (option in config) errors.push(`${label}: ${option}: colour-temperature options need "color_temp" in supported_color_modes`);
        }
    }
    if (typeof config.min_kelvin === 'number' && typeof config.max_kelvin === 'number' && config.min_kelvin >= config.max_kelvin) {
        errors.push(`${label}: min_kelvin: ${config.min_kelvin} must be below max_kelvin ${config.max_kelvin}`);
    }
    if (typeof config.min_mireds === 'number' && typeof config.max_mireds === 'number' && config.min_mireds >= config.max_mireds) {
        errors.push(`${label}: min_mireds: ${config.min_mireds} must be below max_mireds ${config.max_mireds}`);
    }
    if ('effect_list' in config && config.effect !== true) errors.push(`${label}: effect_list: is ignored unless effect is true`);
}

function checkFan(config: JsonObject, label: string, errors: string[]): void {
    const hasPercentageCommand = 'percentage_command_topic' in config;
    for (const option of ['percentage_state_topic', 'percentage_value_template', 'percentage_command_template', 'speed_range_min', 'speed_range_max', 'payload_reset_percentage']) {
        if (option in config && !hasPercentageCommand) errors.push(`${label}: ${option}: needs percentage_command_topic`);
    }
    const min = typeof config.speed_range_min === 'number' ? config.speed_range_min : 1;
    const max = typeof config.speed_range_max === 'number' ? config.speed_range_max : 100;
    if (min >= max) errors.push(`${label}: speed_range_min: ${min} must be below speed_range_max ${max}`);

    const presetTopics = ['preset_mode_command_topic', 'preset_mode_state_topic'].filter((option) => option in config);
    const presetModes = config.preset_modes;
    if (presetTopics.length > 0 && (!Array.isArray(presetModes) || presetModes.length === 0)) {
        errors.push(`${label}: preset_modes: must list at least one mode when ${presetTopics.join(' / ')} is set`);
    }
    for (const option of ['preset_modes', 'preset_mode_state_topic', 'preset_mode_value_template', 'preset_mode_command_template', 'payload_reset_preset_mode']) {
        if (option in config && !('preset_mode_command_topic' in config)) errors.push(`${label}: ${option}: needs preset_mode_command_topic`);
    }
    checkDistinctTexts(presetModes, 'preset_modes', label, errors, null);
    for (const feature of ['oscillation', 'direction']) {
        for (const suffix of ['state_topic', 'value_template', 'command_template']) {
            const option = `${feature}_${suffix}`;
            if (option in config && !(`${feature}_command_topic` in config)) errors.push(`${label}: ${option}: needs ${feature}_command_topic`);
        }
    }
}

/** Returns the unit HA would compare, flagging the legacy micro sign HA rewrites. */
function canonicalUnit(unit: unknown, label: string, errors: string[]): unknown {
    if (typeof unit !== 'string') return unit;
    const canonical = ambiguousUnits.get(unit);
    if (canonical === undefined) return unit;
    errors.push(`${label}: unit_of_measurement: "${unit}" uses the micro sign U+00B5; HA rewrites it to "${canonical}" (Greek mu U+03BC), publish that`);
    return canonical;
}

function describeUnits(units: readonly (string | null)[]): string {
    return units.map((unit) => (unit === null ? 'no unit' : unit)).join(', ');
}

/** The unit rules HA applies to sensors and numbers with a device class. */
function checkUnit(platform: 'sensor' | 'number', deviceClass: string, unit: unknown, label: string, errors: string[]): void {
    const table = haTables[platform].device_classes[deviceClass];
    if (!table || table.units === 'any') return;
    const where = `${label}: unit_of_measurement`;
    const unitless = table.units.length === 1 && table.units[0] === null;
    if (unit === undefined) {
        if (!table.units.includes(null)) errors.push(`${where}: device_class "${deviceClass}" needs a unit (one of: ${describeUnits(table.units)})`);
        return;
    }
    if (unitless) {
        errors.push(`${where}: device_class "${deviceClass}" takes no unit; got ${JSON.stringify(unit)}`);
        return;
    }
    if (typeof unit === 'string' && !table.units.includes(unit)) {
        errors.push(`${where}: "${unit}" is not valid together with device_class "${deviceClass}" (allowed: ${describeUnits(table.units)})`);
    }
}

function checkSensor(config: JsonObject, label: string, errors: string[]): void {
    const deviceClass = config.device_class;
    const stateClass = config.state_class;
    const unit = canonicalUnit(config.unit_of_measurement, label, errors);
    const table = haTables.sensor;
    if (typeof deviceClass === 'string') {
        const entry = table.device_classes[deviceClass];
        if (!entry) {
            errors.push(`${label}: device_class: "${deviceClass}" is not a sensor device class (HA ${haTables.home_assistant_version} tables)`);
        } else {
            checkUnit('sensor', deviceClass, unit, label, errors);
            if (typeof stateClass === 'string' && !entry.state_classes.includes(stateClass)) {
                const allowed = entry.state_classes.length > 0 ? `allowed: ${entry.state_classes.join(', ')}` : 'it takes no state_class';
                errors.push(`${label}: state_class: "${stateClass}" is not valid for device_class "${deviceClass}" (${allowed})`);
            }
        }
    }
    if (typeof stateClass === 'string') {
        const units = table.state_class_units[stateClass];
        if (units !== undefined && (typeof unit !== 'string' || !units.includes(unit))) {
            errors.push(`${label}: state_class: "${stateClass}" needs unit_of_measurement ${units.map((item) => `"${item}"`).join(' or ')}`);
        }
    }
    if ('last_reset_value_template' in config && stateClass !== 'total') {
        errors.push(`${label}: last_reset_value_template: only applies with state_class "total"`);
    }

    const options = config.options;
    if (options !== undefined) {
        if (deviceClass !== 'enum') errors.push(`${label}: options: only allowed with device_class "enum"`);
        if ('unit_of_measurement' in config) errors.push(`${label}: options: cannot be combined with unit_of_measurement (HA drops the entity)`);
        if ('state_class' in config) errors.push(`${label}: options: cannot be combined with state_class (HA drops the entity)`);
        checkDistinctTexts(options, 'options', label, errors, 'an enum sensor lists its possible states');
    } else if (deviceClass === 'enum') {
        errors.push(`${label}: options: is required with device_class "enum" (list every state the sensor can report)`);
    }
}

function checkNumber(config: JsonObject, label: string, errors: string[]): void {
    const min = typeof config.min === 'number' ? config.min : 1;
    const max = typeof config.max === 'number' ? config.max : 100;
    if (min >= max) errors.push(`${label}: min: ${min} must be below max ${max} (HA defaults: min 1, max 100)`);
    const unit = canonicalUnit(config.unit_of_measurement, label, errors);
    const deviceClass = config.device_class;
    if (typeof deviceClass !== 'string') return;
    if (!haTables.number.device_classes[deviceClass]) {
        errors.push(`${label}: device_class: "${deviceClass}" is not a number device class (HA ${haTables.home_assistant_version} tables)`);
        return;
    }
    checkUnit('number', deviceClass, unit, label, errors);
}

// ------------------------------------------------------------------------------------------------
// Turning zod issues into messages that name the option and the reason.

interface ReportOptions {
    /** Known keys, to suggest the intended one for a typo. */
    suggestFrom: readonly string[];
    /** Top-level keys whose problems are reported elsewhere. */
    skip?: ReadonlySet<string>;
}

function reportIssues(schema: z.ZodType, value: JsonObject, label: string, errors: string[], options: ReportOptions): void {
    const result = schema.safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
        const first = issue.path[0];
        if (typeof first === 'string' && options.skip?.has(first)) continue;
        const path = formatPath(issue.path);
        if (issue.code === 'unrecognized_keys') {
            for (const key of issue.keys) {
                const at = path === '' ? key : `${path}.${key}`;
                const nested = issue.path.length > 0;
                errors.push(`${label}: ${at}: unknown option${describeSuggestion(key, nested ? [] : options.suggestFrom)}`);
            }
            continue;
        }
        errors.push(`${label}: ${path === '' ? '(payload)' : path}: ${issue.message}`);
    }
}

function formatPath(path: readonly PropertyKey[]): string {
    let text = '';
    for (const part of path) {
        if (typeof part === 'number') text += `[${part}]`;
        else text += text === '' ? String(part) : `.${String(part)}`;
    }
    return text;
}

/** Names what an unknown key was probably meant to be: a full name, or a known abbreviation's target. */
function describeSuggestion(key: string, known: readonly string[]): string {
    let best: string | null = null;
    let bestDistance = Infinity;
    for (const candidate of known) {
        const distance = editDistance(key, candidate);
        if (distance < bestDistance) {
            best = candidate;
            bestDistance = distance;
        }
    }
    const limit = Math.max(2, Math.floor(key.length / 4));
    if (best !== null && bestDistance <= limit) return ` (did you mean "${best}"?)`;
    return ' (HA would silently ignore it)';
}

function editDistance(left: string, right: string): number {
    let previous = Array.from({length: right.length + 1}, (_, index) => index);
    for (let row = 1; row <= left.length; row++) {
        const current = [row];
        for (let column = 1; column <= right.length; column++) {
            const substitution = (previous[column - 1] ?? 0) + (left[row - 1] === right[column - 1] ? 0 : 1);
            current.push(Math.min((previous[column] ?? 0) + 1, (current[column - 1] ?? 0) + 1, substitution));
        }
        previous = current;
    }
    return previous[right.length] ?? 0;
}
