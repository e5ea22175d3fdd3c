FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY strategies ./strategies
COPY bench ./bench
COPY bin ./bin
COPY config ./config
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
ENTRYPOINT ["node", "bin/kairos.js"]
CMD ["--help"]
