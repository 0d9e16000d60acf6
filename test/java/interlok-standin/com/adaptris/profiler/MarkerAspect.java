package com.adaptris.profiler;

import org.aspectj.lang.annotation.Aspect;
import org.aspectj.lang.annotation.Before;

/**
 * Annotation-style aspect, compiled with plain javac (no ajc).  It does
 * nothing unless the AspectJ load-time weaver is running as -javaagent and
 * finds META-INF/profiler-aop.xml, which names it.
 */
@Aspect
public class MarkerAspect {

  @Before("execution(* com.adaptris.core.management.SimpleBootstrap.boot(..))")
  public void beforeBoot() {
    System.out.println("PROFILER-ASPECT: woven before boot");
    System.out.flush();
  }
}
