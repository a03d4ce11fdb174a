/** What test/integration/global-setup.ts provides to integration tests (`inject('stack')`). */
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The KEY=VALUE lines `scripts/stack.sh start` printed (STACK_DIR, LDAP_URL, …). */
    stack: Readonly<Record<string, string>>;
  }
}
