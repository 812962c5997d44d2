import type {PublicDevice} from '../core/device.js';
import type {Extension} from '../core/extension.js';
import type {HaContext} from './context.js';

/**
 * Pictures of image features (a vacuum's map) on their retained `image_topic`, base64 as the
 * discovery declares (`image_encoding: b64`): the queue carries text, and coalesces per topic, so
 * a slow broker holds one picture per feature at most.
 */
export class ImagePublisher implements Extension {
    readonly name = 'ha:images';
    private readonly unsubscribers: (() => void)[] = [];

    constructor(private readonly context: HaContext) {}

    start(): void {
        const {bus, images, replay} = this.context;
        this.unsubscribers.push(
            bus.on('image', ({deviceId, featureId, png}) => this.publish(deviceId, featureId, png, false)),
            replay.add({
                device: (device: PublicDevice) => {
                    for (const feature of device.features) {
                        const image = feature.kind === 'image' ? images.get(device.id, feature.id) : undefined;
                        if (image) this.publish(device.id, feature.id, image.png, true);
                    }
                },
            }),
        );
    }

    stop(): void {
        for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    }

    private publish(deviceId: string, featureId: string, png: Buffer, replayed: boolean): void {
        const {queue, topics} = this.context;
        queue.enqueue({topic: topics.featureImage(deviceId, featureId), payload: png.toString('base64'), retain: true, qos: 1}, replayed ? {replay: 'paced'} : {deviceId});
    }
}
