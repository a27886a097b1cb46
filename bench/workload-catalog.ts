// The vocabulary of the reference workload (BENCHMARK.md): an e-commerce
// system of eight services. Values are chosen to look like what real SDKs
// send, because sizes on the wire and on disk depend on them (attribute
// lengths, how often values repeat, which ones are high-cardinality).

export type ServiceName =
  | 'frontend'
  | 'auth'
  | 'cart'
  | 'checkout'
  | 'payment'
  | 'search'
  | 'catalog'
  | 'shipping';

export type Language = 'nodejs' | 'go' | 'java' | 'python' | 'dotnet' | 'rust';

export interface DbQuery {
  /** Span name, `{operation} {target}` as the database semantic conventions ask. */
  name: string;
  text: string;
}

export interface ServiceSpec {
  name: ServiceName;
  version: string;
  language: Language;
  /** Fully-qualified gRPC service name (rpc.service) and its methods. */
  rpcService: string;
  rpcMethods: readonly string[];
  /** Services this one calls when it is an intermediate hop. */
  callees: readonly ServiceName[];
  db: { system: string; namespace: string; address: string; queries: readonly DbQuery[] };
}

export const SERVICES: readonly ServiceSpec[] = [
  {
    name: 'frontend',
    version: '2.14.0',
    language: 'nodejs',
    rpcService: 'shop.FrontendService',
    rpcMethods: ['Render'],
    callees: ['auth', 'cart', 'catalog', 'search', 'checkout'],
    db: {
      system: 'redis',
      namespace: '0',
      address: 'redis-sessions',
      queries: [
        { name: 'GET', text: 'GET session:?' },
        { name: 'EXPIRE', text: 'EXPIRE session:? 1800' },
      ],
    },
  },
  {
    name: 'auth',
    version: '1.8.3',
    language: 'go',
    rpcService: 'shop.AuthService',
    rpcMethods: ['VerifyToken', 'Login', 'RefreshToken'],
    callees: [],
    db: {
      system: 'postgresql',
      namespace: 'auth',
      address: 'pg-auth',
      queries: [
        { name: 'SELECT auth.users', text: 'SELECT id, pw_hash FROM users WHERE email = $1' },
        { name: 'SELECT auth.tokens', text: 'SELECT user_id FROM tokens WHERE hash = $1' },
        { name: 'UPDATE auth.users', text: 'UPDATE users SET last_login = now() WHERE id = $1' },
      ],
    },
  },
  {
    name: 'cart',
    version: '3.2.0',
    language: 'dotnet',
    rpcService: 'shop.CartService',
    rpcMethods: ['GetCart', 'AddItem', 'EmptyCart'],
    callees: ['catalog'],
    db: {
      system: 'redis',
      namespace: '1',
      address: 'redis-cart',
      queries: [
        { name: 'HGETALL', text: 'HGETALL cart:?' },
        { name: 'HSET', text: 'HSET cart:? ? ?' },
      ],
    },
  },
  {
    name: 'checkout',
    version: '1.21.4',
    language: 'go',
    rpcService: 'shop.CheckoutService',
    rpcMethods: ['PlaceOrder', 'GetOrder'],
    callees: ['payment', 'cart', 'shipping', 'catalog'],
    db: {
      system: 'postgresql',
      namespace: 'orders',
      address: 'pg-orders',
      queries: [
        { name: 'INSERT orders.orders', text: 'INSERT INTO orders VALUES ($1, $2, $3, $4)' },
        { name: 'SELECT orders.orders', text: 'SELECT status, total FROM orders WHERE id = $1' },
        { name: 'INSERT orders.order_items', text: 'INSERT INTO order_items VALUES ($1, $2, $3)' },
      ],
    },
  },
  {
    name: 'payment',
    version: '5.0.2',
    language: 'java',
    rpcService: 'shop.PaymentService',
    rpcMethods: ['Charge', 'Refund'],
    callees: ['auth'],
    db: {
      system: 'postgresql',
      namespace: 'payments',
      address: 'pg-payments',
      queries: [
        { name: 'INSERT payments.charges', text: 'INSERT INTO charges VALUES (?, ?, ?, ?)' },
        { name: 'SELECT payments.cards', text: 'SELECT token FROM cards WHERE user_id = ?' },
      ],
    },
  },
  {
    name: 'search',
    version: '0.19.7',
    language: 'python',
    rpcService: 'shop.SearchService',
    rpcMethods: ['Search', 'Suggest'],
    callees: ['catalog'],
    db: {
      system: 'elasticsearch',
      namespace: 'products',
      address: 'es-products',
      queries: [
        { name: 'search products', text: '{"query":{"match":{"name":"?"}},"size":20}' },
        { name: 'get products', text: 'GET /products/_doc/?' },
      ],
    },
  },
  {
    name: 'catalog',
    version: '4.6.1',
    language: 'go',
    rpcService: 'shop.CatalogService',
    rpcMethods: ['GetProduct', 'ListProducts', 'GetPrices'],
    callees: ['search'],
    db: {
      system: 'postgresql',
      namespace: 'catalog',
      address: 'pg-catalog',
      queries: [
        { name: 'SELECT catalog.products', text: 'SELECT * FROM products WHERE id = ANY($1)' },
        { name: 'SELECT catalog.prices', text: 'SELECT cents FROM prices WHERE product_id = $1' },
      ],
    },
  },
  {
    name: 'shipping',
    version: '1.3.0',
    language: 'rust',
    rpcService: 'shop.ShippingService',
    rpcMethods: ['GetQuote', 'ShipOrder'],
    callees: ['catalog'],
    db: {
      system: 'mysql',
      namespace: 'shipping',
      address: 'mysql-shipping',
      queries: [
        { name: 'SELECT shipping.rates', text: 'SELECT carrier, cents FROM rates WHERE zone = ?' },
        { name: 'INSERT shipping.shipments', text: 'INSERT INTO shipments VALUES (?, ?, ?)' },
      ],
    },
  },
];

export const BACKEND_SERVICES: readonly ServiceName[] = SERVICES.filter((s) => s.name !== 'frontend').map((s) => s.name);

export function serviceSpec(name: ServiceName): ServiceSpec {
  const spec = SERVICES.find((s) => s.name === name);
  if (spec === undefined) throw new Error(`unknown service ${name}`);
  return spec;
}

export interface RouteSpec {
  method: string;
  route: string;
  /** url.path for a request; `{id}` is filled with a random product/order ID. */
  path: string;
  /** Services the frontend calls for this route, most likely first. */
  downstream: readonly ServiceName[];
  weight: number;
}

export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', route: '/api/products/{id}', path: '/api/products/{id}', downstream: ['catalog', 'search', 'auth'], weight: 30 },
  { method: 'GET', route: '/api/search', path: '/api/search', downstream: ['search', 'catalog', 'auth'], weight: 20 },
  { method: 'GET', route: '/api/cart', path: '/api/cart', downstream: ['cart', 'catalog', 'auth'], weight: 18 },
  { method: 'POST', route: '/api/cart/items', path: '/api/cart/items', downstream: ['cart', 'auth', 'catalog'], weight: 12 },
  { method: 'POST', route: '/api/login', path: '/api/login', downstream: ['auth', 'cart'], weight: 8 },
  { method: 'POST', route: '/api/checkout', path: '/api/checkout', downstream: ['checkout', 'auth', 'cart', 'payment'], weight: 6 },
  { method: 'GET', route: '/api/shipping/quote', path: '/api/shipping/quote', downstream: ['shipping', 'cart', 'auth'], weight: 4 },
  { method: 'GET', route: '/api/orders/{id}', path: '/api/orders/{id}', downstream: ['checkout', 'shipping', 'auth'], weight: 2 },
];

export const USER_AGENTS: readonly string[] = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  'shop-ios/4.12.1 (iPhone15,2; iOS 17.5.1) CFNetwork/1494.0.7 Darwin/23.4.0',
  'okhttp/4.12.0',
];

/** Instrumentation scopes by language: real SDKs name the library that made the span. */
export const SCOPES: Record<Language, { http: string; grpc: string; db: string; version: string }> = {
  nodejs: {
    http: '@opentelemetry/instrumentation-http',
    grpc: '@opentelemetry/instrumentation-grpc',
    db: '@opentelemetry/instrumentation-ioredis',
    version: '0.57.2',
  },
  go: {
    http: 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp',
    grpc: 'go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc',
    db: 'github.com/XSAM/otelsql',
    version: '0.53.0',
  },
  java: {
    http: 'io.opentelemetry.netty-4.1',
    grpc: 'io.opentelemetry.grpc-1.6',
    db: 'io.opentelemetry.jdbc',
    version: '2.5.0-alpha',
  },
  python: {
    http: 'opentelemetry.instrumentation.flask',
    grpc: 'opentelemetry.instrumentation.grpc',
    db: 'opentelemetry.instrumentation.elasticsearch',
    version: '0.46b0',
  },
  dotnet: {
    http: 'Microsoft.AspNetCore',
    grpc: 'Grpc.Net.Client',
    db: 'OpenTelemetry.Instrumentation.StackExchangeRedis',
    version: '1.9.0',
  },
  rust: {
    http: 'tracing-opentelemetry',
    grpc: 'tracing-opentelemetry',
    db: 'tracing-opentelemetry',
    version: '0.24.0',
  },
};

export interface Failure {
  grpcCode: number;
  statusMessage: string;
  exceptionType: string;
  exceptionMessage: string;
}

export const FAILURES: Record<Language, Failure> = {
  nodejs: {
    grpcCode: 14,
    statusMessage: '14 UNAVAILABLE: No connection established',
    exceptionType: 'Error',
    exceptionMessage: '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.42.3.17:8080',
  },
  go: {
    grpcCode: 4,
    statusMessage: 'context deadline exceeded',
    exceptionType: '*status.Error',
    exceptionMessage: 'rpc error: code = DeadlineExceeded desc = context deadline exceeded',
  },
  java: {
    grpcCode: 13,
    statusMessage: 'Could not open JDBC Connection for transaction',
    exceptionType: 'org.springframework.jdbc.CannotGetJdbcConnectionException',
    exceptionMessage: 'Failed to obtain JDBC Connection: HikariPool-1 - Connection is not available, request timed out after 30000ms.',
  },
  python: {
    grpcCode: 13,
    statusMessage: 'ConnectionTimeout',
    exceptionType: 'elasticsearch.exceptions.ConnectionTimeout',
    exceptionMessage: "ConnectionTimeout caused by - ReadTimeoutError(HTTPConnectionPool(host='es-products', port=9200): Read timed out. (read timeout=10))",
  },
  dotnet: {
    grpcCode: 14,
    statusMessage: 'It was not possible to connect to the redis server(s)',
    exceptionType: 'StackExchange.Redis.RedisConnectionException',
    exceptionMessage: 'It was not possible to connect to the redis server(s). UnableToConnect on redis-cart:6379/Interactive',
  },
  rust: {
    grpcCode: 13,
    statusMessage: 'pool timed out while waiting for an open connection',
    exceptionType: 'sqlx_core::error::Error',
    exceptionMessage: 'pool timed out while waiting for an open connection',
  },
};

/** A stack trace of the right size and shape for the language (they dominate an error span's bytes). */
export function stacktrace(language: Language, f: Failure, service: string): string {
  const frames: string[] = [];
  switch (language) {
    case 'java':
      frames.push(`${f.exceptionType}: ${f.exceptionMessage}`);
      for (const fr of [
        'org.springframework.jdbc.datasource.DataSourceTransactionManager.doBegin(DataSourceTransactionManager.java:309)',
        'org.springframework.transaction.support.AbstractPlatformTransactionManager.startTransaction(AbstractPlatformTransactionManager.java:400)',
        `com.shop.${service}.ChargeService.charge(ChargeService.java:87)`,
        `com.shop.${service}.grpc.PaymentEndpoint.charge(PaymentEndpoint.java:41)`,
        'io.grpc.stub.ServerCalls$UnaryServerCallHandler$UnaryServerCallListener.onHalfClose(ServerCalls.java:182)',
      ])
        frames.push(`\tat ${fr}`);
      break;
    case 'go':
      frames.push(`goroutine 1742 [running]:`, `main.(*server).handle(0xc0001a2000, {0x1a2b3c0, 0xc000512000})`);
      frames.push(`\t/src/${service}/server.go:118 +0x2c5`, `google.golang.org/grpc.(*Server).processUnaryRPC(...)`);
      frames.push(`\t/go/pkg/mod/google.golang.org/grpc@v1.64.0/server.go:1379 +0xdf2`);
      break;
    case 'python':
      frames.push('Traceback (most recent call last):');
      frames.push(`  File "/app/${service}/handlers.py", line 64, in search`, '    hits = es.search(index="products", body=query)');
      frames.push('  File "/usr/local/lib/python3.12/site-packages/elasticsearch/client/__init__.py", line 1540, in search');
      frames.push(`${f.exceptionType}: ${f.exceptionMessage}`);
      break;
    case 'dotnet':
      frames.push(`${f.exceptionType}: ${f.exceptionMessage}`);
      frames.push('   at StackExchange.Redis.ConnectionMultiplexer.ExecuteSyncImpl[T](Message message, ResultProcessor`1 processor)');
      frames.push(`   at Shop.${service}.CartStore.GetCartAsync(String userId) in /src/CartStore.cs:line 52`);
      break;
    case 'nodejs':
      frames.push(`${f.exceptionType}: ${f.exceptionMessage}`);
      frames.push('    at callErrorFromStatus (/app/node_modules/@grpc/grpc-js/build/src/call.js:31:19)');
      frames.push('    at Object.onReceiveStatus (/app/node_modules/@grpc/grpc-js/build/src/client.js:193:76)');
      frames.push(`    at /app/${service}/dist/routes.js:88:23`);
      break;
    case 'rust':
      frames.push(`${f.exceptionType}: ${f.exceptionMessage}`);
      frames.push(`   0: ${service}::store::rates::lookup\n             at ./src/store/rates.rs:42:9`);
      frames.push(`   1: ${service}::api::get_quote\n             at ./src/api.rs:77:20`);
      break;
  }
  return frames.join('\n');
}
