export * from './ratio';
