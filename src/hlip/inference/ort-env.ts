/**
 * Imported before onnxruntime-node wherever it is loaded (import order is evaluation order). onnxruntime 1.30 records
 * usage telemetry by default: an onnxruntime.db event queue and a device id under the user's cache folder, and
 * mat-debug-<pid>.log files in the temp folder. This project promises nothing leaves the machine, so it is switched off
 * before the native library reads its environment (child processes inherit it). A worker
 * thread's process.env is a private copy the native library never sees, so the thread's parent imports this too.
 */
process.env.ORT_DISABLE_TELEMETRY = '1';

export {};
