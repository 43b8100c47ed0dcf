/**
 * The controller's schemas are written with zod/mini: functions instead of methods, so a Lambda bundle keeps only
 * the checks the schemas use (about 35 KB against about 95 KB for the full `zod`, whose methods keep everything).
 * zod/mini sets no locale: English messages are registered here, the one locale any bundle takes (`z.locales`
 * would bring every language). Every schema module imports zod through this one.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
