/** Simulated devices started together: all of them, or none left running. */
export interface SimulatedDevice {
    start(): Promise<void>;
    stop(): Promise<void>;
}

export interface RunningDevices<Device> {
    bots: Device[];
    stop(): Promise<void>;
}

export async function startAll<Device extends SimulatedDevice>(devices: Device[]): Promise<RunningDevices<Device>> {
    try {
        await Promise.all(devices.map((device) => device.start()));
    } catch (error) {
        await Promise.all(devices.map((device) => device.stop()));
        throw error;
    }
    return {bots: devices, stop: async () => void (await Promise.all(devices.map((device) => device.stop())))};
}
