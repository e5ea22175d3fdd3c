// Replaced by the Redis harness (start a private redis-server unless REDIS_URL is set).
export default function setup(): void {}
